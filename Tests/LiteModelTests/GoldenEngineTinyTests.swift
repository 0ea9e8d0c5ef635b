import XCTest
import EdgeRuntime

@testable import LiteModel

/// The `tiny` golden fixtures (Tests/Fixtures/README.md, section `tiny/`): model files generated into the
/// git-ignored Tests/GeneratedFixtures, expected digests and values committed under Tests/Fixtures/tiny.
enum TinyFixtures {
    static let command = ".venv/bin/python tools/make_fixtures.py --models-only"

    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
    }

    static var generated: URL {
        fixtures.deletingLastPathComponent().appendingPathComponent("GeneratedFixtures")
    }

    static func committed(_ name: String) -> String {
        fixtures.appendingPathComponent("tiny").appendingPathComponent(name).path
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    /// The generated model file `name`, after checking it has the size and CRC-32 that MANIFEST.txt lists.
    /// Fails (never skips) when it is missing or stale: the tiny golden tests must run wherever XCTest runs.
    static func model(_ name: String) throws -> String {
        let manifest = try String(contentsOf: fixtures.appendingPathComponent("MANIFEST.txt"), encoding: .utf8)
        var row: [String] = []
        for line in manifest.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            if fields.count == 4 && fields[0] == "generated" && fields[1] == name { row = fields }
        }
        guard row.count == 4, let size = Int(row[2]), let crc = UInt32(row[3].dropFirst(6), radix: 16) else {
            throw Missing(description: "MANIFEST.txt lists no generated " + name)
        }
        let path = generated.appendingPathComponent(name).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Missing(description: "generated fixture " + path + " is missing: run `" + command + "` first")
        }
        let got = data.withUnsafeBytes { CRC32.checksum($0) }
        guard data.count == size, got == crc else {
            let have = "\(data.count) bytes, crc32:\(String(got, radix: 16))"
            let want = "\(size) bytes, crc32:\(String(crc, radix: 16))"
            throw Missing(description:
                "generated fixture \(path) is stale (\(have); MANIFEST.txt: \(want)): run `\(command)` (if it "
                + "reports different bytes, the committed fixtures are stale: python tools/make_fixtures.py)")
        }
        return path
    }

    /// One line of expected_<run>.txt.
    struct Entry {
        let name: String, dtype: String, shape: [Int], crc: UInt32
        /// `full`, `input`, `digest`, or the leading-axis rows stored (inclusive ranges, in order).
        let stored: String, rows: [ClosedRange<Int>]
        var count: Int { shape.reduce(1, *) }
        var elementSize: Int { dtype == "F32" || dtype == "I32" ? 4 : 1 }
    }

    static func index(_ run: String) throws -> [Entry] {
        let text = try String(contentsOfFile: committed("expected_" + run + ".txt"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 5, f[3].hasPrefix("crc32:"), let crc = UInt32(f[3].dropFirst(6), radix: 16) else {
                throw Missing(description: "bad index line: " + line)
            }
            var rows: [ClosedRange<Int>] = []
            if f[4].hasPrefix("rows:") {
                for r in f[4].dropFirst(5).split(separator: ",") {
                    let ab = r.split(separator: "-").compactMap { Int($0) }
                    guard ab.count == 2, ab[0] <= ab[1] else { throw Missing(description: "bad rows in: " + line) }
                    rows.append(ab[0]...ab[1])
                }
            }
            return Entry(name: f[0], dtype: f[1], shape: f[2].split(separator: "x").compactMap { Int($0) }, crc: crc,
                         stored: f[4], rows: rows)
        }
    }

    /// Runs the tiny model file of `run` on the tiny input frame with intermediates kept.
    /// The tiny fp32 run takes ~70 s of CPU in a debug build (the Swift fp32 GEMM unoptimized), so it uses the
    /// cores there are (results are identical for any thread count: EngineTests).
    static func run(_ run: String,
                    threads: Int = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))) throws -> Engine {
        let start = Date()
        let path = try model("tiny_" + run + ".dsm")
        let checked = Date()
        let engine = try Engine.load(path: path, options: EngineOptions(threads: threads),
                                     frames: EngineFrameOptions(maxFrameWidth: 640, maxFrameHeight: 480,
                                                                maxInstances: 32, keepIntermediates: true))
        let input = try SafeTensorsFile.open(path: committed("input.safetensors"))
        let t = try XCTUnwrap(input.tensor("input.rgb"))
        let loaded = Date()
        try EngineFixtures.run(engine, (Array(t.bytes), t.shape[1], t.shape[0]))
        let f = { (a: Date, b: Date) in String(format: "%.1f s", b.timeIntervalSince(a)) }
        print("tiny \(run): file check \(f(start, checked)), load \(f(checked, loaded)), "
              + "run (\(threads) threads) \(f(loaded, Date()))")
        return engine
    }

    /// A copy of the engine's bytes for an index entry: `pre.lut` is the engine's LUT, `mask` is `map8 > 65`
    /// (the engine keeps no mask tensor), the rest are named intermediates.
    static func values(_ engine: Engine, _ name: String) -> [UInt8]? {
        switch name {
        case "pre.lut": return (0..<256).map { engine.buffers.lut[$0] }
        case "mask": return engine.intermediate("map8").map { m in m.bytes.map { $0 > 65 ? 1 : 0 } }
        default: return EngineFixtures.engineValues(engine, name).map { Array($0.bytes) }
        }
    }

    /// The stored part of an entry (`full` or its leading-axis rows) as byte ranges of the whole tensor.
    static func byteRanges(_ e: Entry) -> [Range<Int>] {
        let rowBytes = e.count / e.shape[0] * e.elementSize
        if e.stored == "full" { return [0..<(e.count * e.elementSize)] }
        return e.rows.map { ($0.lowerBound * rowBytes)..<(($0.upperBound + 1) * rowBytes) }
    }
}

/// Issue 3 item 7: the engine against the `tiny` golden fixtures (random weights, fixed seed).
extension GoldenEngineTests {
    func testTinyInt8EngineIsBitExactWithTheSimulation() throws {
        let engine = try TinyFixtures.run("int8")
        let expected = try SafeTensorsFile.open(path: TinyFixtures.committed("expected_int8.safetensors"))
        var digests = 0, fullCompared = 0
        for e in try TinyFixtures.index("int8") {
            guard let got = TinyFixtures.values(engine, e.name) else {
                XCTFail("engine has no " + e.name); continue
            }
            XCTAssertEqual(got.count, e.count * e.elementSize, e.name + ": size")
            let crc = got.withUnsafeBytes { CRC32.checksum($0) }
            XCTAssertEqual(crc, e.crc,
                           "\(e.name): crc32 \(String(crc, radix: 16)), fixture says \(String(e.crc, radix: 16))")
            digests += 1
            guard e.stored == "full" else { continue }
            let want = try XCTUnwrap(expected.tensor(e.name), e.name + " not in expected_int8.safetensors")
            XCTAssertEqual(want.bytes.count, got.count, e.name + ": stored size")
            var mismatches = 0, first = -1
            for i in 0..<min(got.count, want.bytes.count) where got[i] != want.bytes[i] {
                mismatches += 1
                if first < 0 { first = i }
            }
            XCTAssertEqual(mismatches, 0, "\(e.name): \(mismatches) bytes differ, first at byte \(first) "
                           + "(element \(first / e.elementSize))")
            fullCompared += 1
        }
        XCTAssertGreaterThanOrEqual(digests, 38)
        XCTAssertGreaterThanOrEqual(fullCompared, 6)
        print("tiny int8 engine: \(digests) digests, \(fullCompared) tensors compared in full")
    }

    func testTinyFp32EngineMatchesTheReference() throws {
        let engine = try TinyFixtures.run("fp32")
        let expected = try SafeTensorsFile.open(path: TinyFixtures.committed("expected_fp32.safetensors"))
        let input = try SafeTensorsFile.open(path: TinyFixtures.committed("input.safetensors"))
        var worst = 0.0, compared = 0
        for e in try TinyFixtures.index("fp32") {
            guard let got = TinyFixtures.values(engine, e.name) else {
                XCTFail("engine has no " + e.name); continue
            }
            XCTAssertEqual(got.count, e.count * e.elementSize, e.name + ": size")
            guard got.count == e.count * e.elementSize else { continue }
            if e.dtype == "U8" && e.name != "map8" && e.name != "mask" {
                // Preprocessing is integer on both paths: exact (digest), plus the stored gamma image and LUT.
                XCTAssertEqual(got.withUnsafeBytes { CRC32.checksum($0) }, e.crc, e.name + ": crc32")
                if e.stored == "input" {
                    let want = try XCTUnwrap(input.tensor(e.name))
                    XCTAssertTrue(want.bytes.elementsEqual(got), e.name + " differs from input.safetensors")
                }
                continue
            }
            if e.name == "map8" { continue }      // checked below, with the threshold tolerance
            if e.name == "mask" {                 // the fixture's mask digest is that of its map8 > 65
                let map8 = try XCTUnwrap(expected.tensor("map8"))
                let mask = (0..<map8.count).map { map8.uint8($0) > 65 ? UInt8(1) : 0 }
                XCTAssertEqual(mask.withUnsafeBytes { CRC32.checksum($0) }, e.crc, "fixture mask is not map8 > 65")
                continue
            }
            XCTAssertEqual(e.dtype, "F32", e.name)
            let want = try XCTUnwrap(expected.tensor(e.name), e.name + " not in expected_fp32.safetensors")
            let ranges = TinyFixtures.byteRanges(e)
            XCTAssertEqual(ranges.reduce(0) { $0 + $1.count }, want.bytes.count, e.name + ": stored size")
            var scale: Float = 1, maxError: Float = 0, j = 0
            for i in 0..<want.count { scale = max(scale, abs(want.float(i))) }
            got.withUnsafeBytes { raw in
                for r in ranges {
                    let values = UnsafeRawBufferPointer(rebasing: raw[r]).bindMemory(to: Float.self)
                    for v in values where j < want.count { maxError = max(maxError, abs(v - want.float(j))); j += 1 }
                }
            }
            worst = max(worst, Double(maxError / scale))
            XCTAssertLessThanOrEqual(maxError / scale, 1e-4,
                                     "\(e.name) (\(e.stored)): max abs error \(maxError) (scale \(scale))")
            compared += 1
        }
        XCTAssertGreaterThanOrEqual(compared, 33)
        print("tiny fp32 engine: \(compared) tensors compared, worst relative error", worst)
        try checkTinyMask(engine, expected)
    }

    /// The fp32 mask (`map8 > 65`) equals the reference's except at pixels whose reference map value is within 1
    /// of the threshold; map8 itself within 1.
    func checkTinyMask(_ engine: Engine, _ expected: SafeTensorsFile) throws {
        let map8 = try XCTUnwrap(expected.tensor("map8"))
        let got = try XCTUnwrap(engine.intermediate("map8")).bytes
        XCTAssertEqual(got.count, map8.count)
        var differing = 0, farMap = 0, foreground = 0
        for i in 0..<min(got.count, map8.count) {
            let want = Int(map8.uint8(i))
            foreground += got[i] > 65 ? 1 : 0
            if abs(Int(got[i]) - want) > 1 { farMap += 1 }
            if (got[i] > 65) != (want > 65) && abs(want - 65) > 1 && abs(want - 66) > 1 { differing += 1 }
        }
        XCTAssertEqual(farMap, 0, "map8 values off by more than 1")
        XCTAssertEqual(differing, 0, "mask pixels differ")
        print("tiny fp32 mask foreground pixels:", foreground, "of", map8.count)
    }
}
