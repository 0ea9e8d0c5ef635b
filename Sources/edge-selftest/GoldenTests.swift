import LiteModel
import EdgeRuntime

/// The engine against the Python reference's golden fixtures (Tests/Fixtures/model, see its README):
/// the Embedded-mode port of Tests/LiteModelTests/GoldenEngineTests.swift, run on the boards and under qemu.
func registerGoldenTests(_ registry: inout TestRegistry) {
    registry.add("Golden/int8 engine: every named intermediate and the mask bit-exact") { t in
        guard let run = GoldenRun(&t, model: "fixture_int8.dsm", expected: "expected_int8.safetensors") else { return }
        run.checkPreprocessing(&t)
        var compared = 0
        for name in run.graphNames() {
            guard let want = run.expected.tensor(name) else { t.fail("expected has no " + name); continue }
            guard let (got, dtype) = run.engineValues(name) else { t.fail("engine has no " + name); continue }
            if dtype == .int8 && want.dtype == .f32 {
                // The engine quantizes the attention output for `proj` as it writes it (NUMERICS 6.6).
                let proj = String(name.dropLast(".attn.o.a".count)) + ".attn.proj"
                let file = run.engine.model.file
                guard let invT = file.tensor(proj + ".in_inv_s"), let zeroT = file.tensor(proj + ".in_zero") else {
                    t.fail(proj + ": input quantization constants missing"); continue
                }
                let inv = invT.float(0), zero = zeroT.int32(0)
                t.expectEqual(got.count, want.count, name + ": size")
                var mismatches = 0
                for i in 0..<min(got.count, want.count)
                    where Int8(bitPattern: got[i]) != quantize(want.float(i), invScale: inv, zeroPoint: zero) { mismatches += 1 }
                t.expectEqual(mismatches, 0, name + ": quantized attention output elements differing:")
                compared += 1
                continue
            }
            t.expectEqual(got.count, want.bytes.count, name + ": size")
            guard got.count == want.bytes.count else { continue }
            var mismatches = 0, first = -1
            for i in 0..<got.count where got[i] != want.bytes[i] {
                mismatches += 1
                if first < 0 { first = i }
            }
            t.expect(mismatches == 0, name + " (" + dtype.name + "): " + String(mismatches)
                     + " bytes differ, first at byte " + String(first))
            compared += 1
        }
        t.expect(compared >= 30, "only " + String(compared) + " intermediates compared (expected at least 30)")
        run.checkMask(&t, exact: true)
    }

    registry.add("Golden/fp32 engine: every named intermediate within 1e-4 relative, mask identical") { t in
        guard let run = GoldenRun(&t, model: "fixture_fp32.dsm", expected: "expected_fp32.safetensors") else { return }
        run.checkPreprocessing(&t)
        var compared = 0
        for name in run.graphNames() where name != "map8" {
            guard let want = run.expected.tensor(name) else { t.fail("expected has no " + name); continue }
            guard let (got, _) = run.engineValues(name) else { t.fail("engine has no " + name); continue }
            t.expectEqual(got.count, want.bytes.count, name + ": size")
            guard got.count == want.bytes.count else { continue }
            let values = got.bindMemory(to: Float.self)
            var scale: Float = 1, maxError: Float = 0
            for i in 0..<want.count { scale = max(scale, abs(want.float(i))) }
            for i in 0..<want.count { maxError = max(maxError, abs(values[i] - want.float(i))) }
            // Scaled to an integer so the message needs no Float formatting (Embedded).
            t.expect(maxError / scale <= 1e-4, name + ": max relative error "
                     + String(Int((maxError / scale * 1e7).rounded())) + "e-7 > 1e-4")
            compared += 1
        }
        t.expect(compared >= 30, "only " + String(compared) + " intermediates compared (expected at least 30)")
        run.checkMask(&t, exact: false)
    }
}

/// One engine run on the fixture frame, with the expected tensors open.
struct GoldenRun {
    let engine: Engine
    let input: SafeTensorsFile
    let expected: SafeTensorsFile

    /// Loads the model, runs the fixture frame; nil (test skipped or failed) when a fixture is absent or bad.
    init?(_ t: inout TestContext, model: String, expected expectedName: String) {
        guard let modelPath = t.fixture("model/" + model), let inputPath = t.fixture("model/input.safetensors"),
              let expectedPath = t.fixture("model/" + expectedName) else { return nil }
        do throws(ModelFileError) {
            input = try SafeTensorsFile.open(path: inputPath)
            expected = try SafeTensorsFile.open(path: expectedPath)
        } catch {
            t.fail("cannot open the fixture tensors: " + error.description)
            return nil
        }
        guard let rgb = input.tensor("input.rgb"), rgb.shape.count == 3 else {
            t.fail("input.safetensors has no input.rgb of shape [H, W, 3]")
            return nil
        }
        do throws(EngineError) {
            engine = try Engine.load(path: modelPath, options: EngineOptions(threads: 1),
                                     frames: EngineFrameOptions(maxFrameWidth: 640, maxFrameHeight: 480,
                                                                maxInstances: 32, keepIntermediates: true))
            _ = try engine.run(frame: rgb.bytes, width: rgb.shape[1], height: rgb.shape[0], encoding: .rgb8,
                               step: rgb.shape[1] * 3)
        } catch {
            t.fail(model + ": " + error.description)
            return nil
        }
    }

    /// Names compared as tensors (pre.* and mask are checked separately).
    func graphNames() -> [String] {
        expected.header.entries.map { $0.name }.filter { !$0.hasPrefix("pre.") && $0 != "mask" }
    }

    /// Engine values for a fixture name: the stacked encoder streams are split into their `.a` / `.b` halves.
    func engineValues(_ name: String) -> (bytes: UnsafeRawBufferPointer, dtype: DType)? {
        var base = name, half = -1
        if name.hasSuffix(".a") && !name.hasPrefix("mcp.") { base = String(name.dropLast(2)); half = 0 }
        if name.hasSuffix(".b") && !name.hasPrefix("mcp.") { base = String(name.dropLast(2)); half = 1 }
        guard let (bytes, dtype) = engine.intermediate(base) else { return nil }
        if half < 0 { return (bytes, dtype) }
        let n = bytes.count / 2
        return (UnsafeRawBufferPointer(rebasing: bytes[(half * n)..<((half + 1) * n)]), dtype)
    }

    /// The preprocessed streams equal the reference's byte for byte (the LUT itself is engine-internal,
    /// `Engine.buffers`; it is covered by the XCTest GoldenEngineTests only).
    func checkPreprocessing(_ t: inout TestContext) {
        for name in ["pre.u_a", "pre.u_b"] {
            guard let want = input.tensor(name) else { t.fail("input.safetensors has no " + name); continue }
            guard let got = engine.intermediate(name)?.bytes else { t.fail("engine has no " + name); continue }
            t.expectEqual(got.count, want.count, name + ": size")
            for i in 0..<min(want.count, got.count) where got[i] != want.uint8(i) {
                t.fail(name + " differs at " + String(i)); break
            }
        }
    }

    /// The mask at model resolution (`map8 > 65`) equals the fixture's; fp32 allows pixels whose map value is
    /// within 1 of the threshold (fixtures README).
    func checkMask(_ t: inout TestContext, exact: Bool) {
        guard let mask = expected.tensor("mask"), let map8 = expected.tensor("map8") else {
            t.fail("expected tensors lack mask or map8"); return
        }
        guard let got = engine.intermediate("map8")?.bytes else { t.fail("engine has no map8"); return }
        guard got.count >= mask.count else { t.fail("engine map8 smaller than the mask"); return }
        var differing = 0, foreground = 0
        for i in 0..<mask.count {
            let fg: UInt8 = got[i] > 65 ? 1 : 0
            foreground += Int(fg)
            if fg != mask.uint8(i) {
                let near = abs(Int(map8.uint8(i)) - 65) <= 1 || abs(Int(map8.uint8(i)) - 66) <= 1
                if exact || !near { differing += 1 }
            }
        }
        t.expectEqual(differing, 0, "mask pixels differing:")
        t.expect(foreground > 0 && foreground < mask.count,
                 "degenerate mask: " + String(foreground) + " foreground pixels of " + String(mask.count))
    }
}
