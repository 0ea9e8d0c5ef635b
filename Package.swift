// swift-tools-version: 6.0
// dualsam-edge: on-board marine-animal segmentation (int8 Dual-SAM) for ARM64 Linux robots.
//
// Every target under Sources/ must also compile as Embedded Swift (see scripts/check-embedded):
// no Foundation, no Glibc (C headers come through CEdgeShim), typed throws only, no non-class existentials.
import PackageDescription

/// Settings shared by every Swift target under Sources: existentials must be spelled `any P`, so the
/// Embedded lint (scripts/lib/lint_embedded.py) can check that each one is class-bound.
let embeddedSafe: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "dualsam-edge",
    products: [
        .executable(name: "edge-daemon", targets: ["edge-daemon"]),
        .library(name: "EdgeRuntime", targets: ["EdgeRuntime"]),
        .library(name: "LiteModel", targets: ["LiteModel"]),
        .library(name: "Bus", targets: ["Bus"]),
    ],
    targets: [
        // Thin C layer over the POSIX headers (Swift code imports this, never Glibc).
        .target(name: "CEdgeShim", path: "Sources/CEdgeShim"),
        // Leaf SIMD int8 GEMM kernels (x86 VNNI/AVX2, AArch64 SDOT/NEON), chosen at run time by QGemm.swift.
        .target(name: "CKernels", path: "Sources/CKernels"),
        // C libraries from Debian -dev packages, found by their pkg-config names.
        .systemLibrary(name: "CZmq", path: "Sources/CZmq", pkgConfig: "libzmq",
                       providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CGpiod", path: "Sources/CGpiod", pkgConfig: "libgpiod",
                       providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPng", path: "Sources/CPng", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJpeg", path: "Sources/CTurboJpeg", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),

        // Arena and memory plan, tensors, threads, clock, logging, config, sd_notify, signals.
        .target(name: "EdgeRuntime", dependencies: ["CEdgeShim"], swiftSettings: embeddedSafe),
        // Model file, ops, the Dual-SAM graph, C3P decoding, instances, RLE.
        .target(name: "LiteModel", dependencies: ["EdgeRuntime", "CEdgeShim", "CKernels"], swiftSettings: embeddedSafe,
                linkerSettings: [.linkedLibrary("m")]),  // libm: sqrtf, log/pow of the gamma LUT (the engine's kernels are reachable from its conformances)
        // Detections over ZeroMQ: publisher, subscriber, wire schema.
        .target(name: "Bus", dependencies: ["EdgeRuntime", "CEdgeShim", "CZmq"], swiftSettings: embeddedSafe),
        // The daemon's logic as a library so tests can drive it: CLI, pipeline, frame sources, GPIO.
        .target(name: "DaemonCore",
                dependencies: ["EdgeRuntime", "LiteModel", "Bus", "CEdgeShim", "CGpiod", "CPng", "CTurboJpeg"], swiftSettings: embeddedSafe),
        // The process on the robot: a thin entry point over DaemonCore.
        .executableTarget(name: "edge-daemon", dependencies: ["DaemonCore", "EdgeRuntime", "CEdgeShim"], swiftSettings: embeddedSafe),
        // Runs and measures the engine on raw frames (tests, benchmarks).
        .executableTarget(name: "edge-bench", dependencies: ["LiteModel", "EdgeRuntime", "CEdgeShim"], swiftSettings: embeddedSafe),
        .executableTarget(name: "bus-testpub", dependencies: ["Bus", "LiteModel", "EdgeRuntime", "CEdgeShim"], swiftSettings: embeddedSafe),
        // Embedded-mode test runner (XCTest does not exist in Embedded Swift); runs on the boards and under qemu.
        .executableTarget(name: "edge-selftest", dependencies: ["DaemonCore", "LiteModel", "Bus", "EdgeRuntime", "CEdgeShim"],
                          swiftSettings: embeddedSafe),

        .testTarget(name: "EdgeRuntimeTests", dependencies: ["EdgeRuntime"]),
        .testTarget(name: "LiteModelTests", dependencies: ["LiteModel", "EdgeRuntime"],
                    resources: []),
        .testTarget(name: "BusTests", dependencies: ["Bus", "LiteModel", "EdgeRuntime"]),
        .testTarget(name: "DaemonCoreTests", dependencies: ["DaemonCore", "EdgeRuntime"]),
    ],
    swiftLanguageModes: [.v6]
)
