"""The LiteModel ops give byte-identical results on x86_64 and aarch64 (NUMERICS goal 2).

Builds the op sources (Numerics, pre/post-processing, C3P, instances, Ops/) as Embedded Swift twice, natively
and for aarch64 (cortex-a76: dotprod, FMA available), links a small driver that hashes every output bit of
each op family on deterministic inputs, runs the aarch64 binary under qemu-aarch64, and compares the hashes.
Also checks the aarch64 code has no fused multiply-add (NUMERICS 2) and does use SDOT. Skipped when the cross
tools are missing. Takes about a minute (two optimised builds).
"""
from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "Sources/LiteModel"
SHIM = ROOT / "Sources/CEdgeShim/include"
KERNELS = ROOT / "Sources/CKernels"

DRIVER = r'''
import LiteModel
import CEdgeShim

// Cross-architecture fingerprint of the LiteModel ops: FNV-1a over every output bit pattern.
struct Hash { var h: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { h = (h ^ UInt64((v >> UInt32(s)) & 0xff)) &* 0x100_0000_01b3 } }
    mutating func f(_ x: Float) { add(x.bitPattern) }
}
struct Rng { var s: UInt64; mutating func next() -> UInt64 { s &+= 0x9E37_79B9_7F4A_7C15; var z = s; z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB; return z ^ (z >> 31) }
    mutating func i8() -> Int8 { Int8(truncatingIfNeeded: next()) }
    mutating func f(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24) } }
func buf<T>(_ n: Int, _ v: T) -> UnsafeMutablePointer<T> { let p = UnsafeMutablePointer<T>.allocate(capacity: n); p.initialize(repeating: v, count: n); return p }
func report(_ name: StaticString, _ h: Hash) { print(name, terminator: " "); print(h.h) }

var rng = Rng(s: 7)
var h = Hash()
var x: Float = -90
while x < 90 { h.f(exp32(x)); h.f(erf32(x)); h.f(gelu32(x)); h.f(sigmoid32(x)); h.f(quickGelu32(x)); x += 0.000731 }
report("elementary", h)

let m = 37, n = 29, k = 301
let a = buf(m * k, Int8(0)), w = buf(n * k, Int8(0)), sums = buf(n, Int32(0))
for i in 0..<(m * k) { a[i] = rng.i8() }
for i in 0..<(n * k) { w[i] = Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
qs8RowSums(w, n: n, k: k, into: sums)
let sc = buf(n, Float(0)), bi = buf(n, Float(0)), fo = buf(m * n, Float(0))
for i in 0..<n { sc[i] = rng.f(1e-4, 1e-2); bi[i] = rng.f(-1, 1) }
try! QGemm(m: m, n: n, k: k, a: a, lda: k, aZero: 5, w: w, wRowSums: sums, output: .dequant(fo, ld: n, QDequantParams(scale: sc, bias: bi))).run()
h = Hash(); for i in 0..<(m * n) { h.f(fo[i]) }; report("qgemm_dequant", h)

let fa = buf(m * k, Float(0)), fw = buf(n * k, Float(0))
for i in 0..<(m * k) { fa[i] = rng.f(-2, 2) }
for i in 0..<(n * k) { fw[i] = rng.f(-1, 1) }
try! FGemm(m: m, n: n, k: k, a: fa, lda: k, w: fw, bias: bi, out: fo, ldo: n).run()
h = Hash(); for i in 0..<(m * n) { h.f(fo[i]) }; report("fgemm", h)

let c = 768, rows = 9
let lx = buf(rows * c, Float(0)), lw = buf(c, Float(0)), lb = buf(c, Float(0)), ly = buf(rows * c, Float(0))
for i in 0..<(rows * c) { lx[i] = rng.f(-5, 7) }
for i in 0..<c { lw[i] = rng.f(0.5, 1.5); lb[i] = rng.f(-0.2, 0.2) }
try! LayerNorm(c: c, x: lx, ldx: c, weight: lw, bias: lb, eps: 1e-6, output: .f32(ly, ld: c)).run(rows: 0..<rows)
h = Hash(); for i in 0..<(rows * c) { h.f(ly[i]) }; report("layernorm", h)

let g = 14, hd = 64, t = g * g
let q = buf(t * hd, Int8(0)), kk = buf(t * hd, Int8(0)), v = buf(t * hd, Int8(0)), rh = buf(g * g * hd, Int8(0)), rw = buf(g * g * hd, Int8(0))
for i in 0..<(t * hd) { q[i] = Int8(truncatingIfNeeded: Int(rng.next() % 81) - 40); kk[i] = Int8(truncatingIfNeeded: Int(rng.next() % 81) - 40); v[i] = rng.i8() }
for i in 0..<(g * g * hd) { rh[i] = Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127); rw[i] = Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
let ao = buf(t * hd, Float(0))
let head = try! QAttentionHead(gridH: g, gridW: g, headDim: hd, q: q, ldq: hd, zq: 3, k: kk, ldk: hd, zk: -2, v: v, ldv: hd, zv: 1,
                               logitScale: 0.0004, vScale: 0.05, relPos: QRelPos(rh: rh, rw: rw, rhScale: 0.003, rwScale: 0.002),
                               validH: 10, validW: 14, output: .f32(ao, ld: hd))
let scratchBytes = head.scratchBytes(blockRows: 16)
let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
try! head.run(queries: 0..<t, blockRows: 16, scratch: scratch, scratchBytes: scratchBytes)
h = Hash(); for i in 0..<(140 * hd) { h.f(ao[i]) }; report("qattention", h)

let fq = buf(t * hd, Float(0)), fk = buf(t * hd, Float(0)), fv = buf(t * hd, Float(0)), frh = buf(g * g * hd, Float(0)), frw = buf(g * g * hd, Float(0))
for i in 0..<(t * hd) { fq[i] = rng.f(-2, 2); fk[i] = rng.f(-2, 2); fv[i] = rng.f(-1, 1) }
for i in 0..<(g * g * hd) { frh[i] = rng.f(-0.3, 0.3); frw[i] = rng.f(-0.3, 0.3) }
let fhead = try! FAttentionHead(gridH: g, gridW: g, headDim: hd, q: fq, ldq: hd, k: fk, ldk: hd, v: fv, ldv: hd, scale: 0.125,
                                relPos: FRelPos(rh: frh, rw: frw), output: .f32(ao, ld: hd))
let fsb = fhead.scratchBytes(blockRows: 16)
let fscratch = UnsafeMutableRawPointer.allocate(byteCount: fsb, alignment: 64)
try! fhead.run(queries: 0..<t, blockRows: 16, scratch: fscratch, scratchBytes: fsb)
h = Hash(); for i in 0..<(t * hd) { h.f(ao[i]) }; report("fattention", h)

let px = 64 * 64, ch = 32, hid = 2
let cx = buf(px * ch, Float(0)), w1 = buf(hid * ch, Float(0)), b1 = buf(hid, Float(0)), w2 = buf(ch * hid, Float(0)), b2 = buf(ch, Float(0))
for i in 0..<(px * ch) { cx[i] = rng.f(-2, 2) }
for i in 0..<(hid * ch) { w1[i] = rng.f(-0.5, 0.5); w2[i] = rng.f(-0.5, 0.5) }
for i in 0..<hid { b1[i] = rng.f(-0.1, 0.1) }
for i in 0..<ch { b2[i] = rng.f(-0.1, 0.1) }
let ca = try! ChannelAttention(pixels: px, c: ch, hidden: hid, w1: w1, b1: b1, w2: w2, b2: b2)
let cs = buf(ca.scratchCount, Float(0))
ca.run(cx, into: cx, scratch: cs)
h = Hash(); for i in 0..<(px * ch) { h.f(cx[i]) }; report("channel_attention", h)

let sw = 97, sh = 61
let img = buf(sw * sh * 3, UInt8(0)), rs = buf(512 * 512 * 3, UInt8(0)), lut = buf(256, UInt8(0))
let rsc = buf(Preprocess.resizeScratchCount(outWidth: 512, inWidth: sw, channels: 3), Int32(0))
for i in 0..<(sw * sh * 3) { img[i] = UInt8(truncatingIfNeeded: rng.next()) }
try! Preprocess.resizeBilinear(img, srcW: sw, srcH: sh, channels: 3, into: rs, dstW: 512, dstH: 512, rows: 0..<512, scratch: rsc)
Preprocess.gammaLUT(graySum: Preprocess.graySum(img, pixels: sw * sh), pixels: sw * sh, into: lut)
h = Hash(); for i in 0..<(512 * 512 * 3) { h.add(UInt32(rs[i])) }; for i in 0..<256 { h.add(UInt32(lut[i])) }; report("resize_gamma", h)
for gs in [UInt64(1), 3000, 10000, 25000, 64000, 100000, 160000, 250000] {
    Preprocess.gammaLUT(graySum: gs, pixels: 1000, into: lut)
    h = Hash(); for i in 0..<256 { h.add(UInt32(lut[i])) }; print("gamma", terminator: " "); print(gs, terminator: " "); print(h.h)
}

let pm = buf(40 * 50 * 8, Float(0)), pred = buf(40 * 50, Float(0))
for i in 0..<(40 * 50 * 8) { pm[i] = rng.f(-6, 6) }
Postprocess.sigmoidInPlace(pm, count: 40 * 50 * 8)
C3P.vote(pm, height: 40, width: 50, rows: 0..<40, into: pred)
h = Hash(); for i in 0..<(40 * 50) { h.f(pred[i]); h.add(UInt32(Postprocess.to8Bit(pred[i]))) }; report("c3p", h)
'''


def _tools():
    swiftc = shutil.which("swiftc")
    need = [swiftc, shutil.which("clang"), shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64"),
            shutil.which("aarch64-linux-gnu-objdump")]
    if not all(need) or not pathlib.Path("/usr/include/aarch64-linux-gnu").is_dir():
        pytest.skip("cross tools (swiftc, clang, aarch64-linux-gnu-gcc, qemu-aarch64, arm64 headers) missing")
    return pathlib.Path(swiftc).resolve().parents[1]


def _build(tmp: pathlib.Path, arch: str, toolchain: pathlib.Path) -> pathlib.Path:
    out = tmp / arch
    out.mkdir()
    srcs = [SRC / n for n in ("Numerics.swift", "Preprocess.swift", "Postprocess.swift", "C3P.swift",
                              "Instances.swift")] + sorted((SRC / "Ops").glob("*.swift"))
    # The ops call the C GEMM kernels (module CKernels, whose module map SwiftPM normally generates).
    kernel_map = out / "CKernels.modulemap"
    kernel_map.write_text(f'module CKernels {{ header "{KERNELS / "include/CKernels.h"}" export * }}\n')
    common = ["swiftc", "-O", "-wmo", "-enable-experimental-feature", "Embedded",
              "-Xcc", f"-fmodule-map-file={SHIM / 'module.modulemap'}", "-I", str(SHIM),
              "-Xcc", f"-fmodule-map-file={kernel_map}", "-I", str(KERNELS / "include")]
    if arch == "aarch64":
        common += ["-target", "aarch64-none-none-elf", "-target-cpu", "cortex-a76", "-Xcc", "-D__linux__",
                   "-Xcc", "-D__aarch64__", "-Xcc", "-isystem", "-Xcc", "/usr/include/aarch64-linux-gnu",
                   "-Xcc", "-isystem", "-Xcc", "/usr/include", "-Xcc", "-mcpu=cortex-a76"]
    subprocess.run(common + ["-module-name", "LiteModel", "-parse-as-library", "-emit-module", "-emit-module-path",
                             str(out / "LiteModel.swiftmodule"), *map(str, srcs), "-c", "-o", str(out / "lm.o")],
                   check=True, capture_output=True)
    (out / "main.swift").write_text(DRIVER)
    subprocess.run(common + ["-module-name", "XCheck", "-I", str(out), str(out / "main.swift"), "-c",
                             "-o", str(out / "main.o")], check=True, capture_output=True)
    triple = "aarch64-none-none-elf" if arch == "aarch64" else "x86_64-unknown-linux-gnu"
    tables = toolchain / "lib/swift/embedded" / triple / "libswiftUnicodeDataTables.a"
    cc = "aarch64-linux-gnu-gcc" if arch == "aarch64" else "clang"
    cflags = ["-O2", "-mcpu=cortex-a76"] if arch == "aarch64" else ["-O2"]
    kernel_objects = []
    # The C kernels, and the shim's CPU-feature queries the kernel dispatch calls.
    for c_file in [*sorted(KERNELS.glob("*.c")), SHIM.parent / "shim.c"]:
        obj = out / (c_file.stem + ".o")
        subprocess.run([cc, *cflags, "-I", str(KERNELS / "include"), "-I", str(SHIM), "-c", str(c_file), "-o", str(obj)],
                       check=True, capture_output=True)
        kernel_objects.append(str(obj))
    subprocess.run([cc, str(out / "main.o"), str(out / "lm.o"), *kernel_objects, str(tables), "-lm",
                    "-o", str(out / "xcheck")], check=True, capture_output=True)
    return out



def test_ops_are_byte_identical_on_x86_64_and_aarch64(tmp_path):
    toolchain = _tools()
    x86 = _build(tmp_path, "x86_64", toolchain)
    a64 = _build(tmp_path, "aarch64", toolchain)
    native = subprocess.run([str(x86 / "xcheck")], check=True, capture_output=True, text=True).stdout
    emulated = subprocess.run(["qemu-aarch64", "-L", "/", str(a64 / "xcheck")], check=True, capture_output=True,
                              text=True).stdout
    assert len(native.splitlines()) >= 17
    assert native == emulated
    dis = subprocess.run(["aarch64-linux-gnu-objdump", "-d", str(a64 / "lm.o")], check=True, capture_output=True,
                         text=True).stdout
    fused = [l for l in dis.splitlines() if any(f"\t{op}\t" in l for op in ("fmadd", "fmsub", "fnmadd", "fnmsub", "fmla", "fmls"))]
    assert not fused, fused[:5]
    assert sum("\tsdot\t" in l for l in dis.splitlines()) > 0, "the int8 GEMM should use SDOT on dotprod CPUs"
