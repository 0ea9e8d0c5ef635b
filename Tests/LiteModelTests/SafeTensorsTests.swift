import XCTest

@testable import LiteModel

final class SafeTensorsTests: XCTestCase {
    func testCRC32Vectors() {
        func crc(_ text: String) -> UInt32 { Array(text.utf8).withUnsafeBytes { CRC32.checksum($0) } }
        XCTAssertEqual(crc("123456789"), 0xCBF4_3926)
        XCTAssertEqual(crc(""), 0)
        XCTAssertEqual(crc("dualsam-edge"), 0x8DE1_583E)
        XCTAssertEqual(hex8(0x0000_abcd), "0000abcd")
    }

    func testMinimalFileParses() throws {
        let bytes = TestModelWriter.minimalFile()
        let file = try ModelFile(storage: ModelFileBytes(bytes))
        XCTAssertEqual(file.dtype, .fp32)
        XCTAssertEqual(file.configName, "format-test")
        XCTAssertEqual(file.header.entries.count, 6)
        XCTAssertEqual(file.header.headerLength % 8, 0)
        let weight = try XCTUnwrap(file.tensor("a.weight"))
        XCTAssertEqual(weight.shape, [2, 3])
        XCTAssertEqual((0..<6).map { weight.float($0) }, [1, -2, 3.5, 0, 0.25, -1e-3])
        XCTAssertEqual((0..<3).map { file.tensor("b.shift")!.int32($0) }, [1, 31, 62])
        XCTAssertEqual((0..<4).map { file.tensor("c.weight")!.int8($0) }, [-127, 0, 5, 127])
        XCTAssertEqual(file.tensor("scalar")?.shape, [])
        XCTAssertEqual(file.tensor("scalar")?.float(0), 7)
        XCTAssertEqual(file.tensor("empty")?.count, 0)
        XCTAssertEqual(file.tensor("empty")?.elements(Int8.self)?.count, 0)
        XCTAssertEqual(Array(try XCTUnwrap(weight.elements(Float.self))), [1, -2, 3.5, 0, 0.25, -1e-3])
        XCTAssertEqual(Array(try XCTUnwrap(file.tensor("c.weight")?.elements(Int8.self))), [-127, 0, 5, 127])
        XCTAssertNil(weight.elements(Int32.self), "dtype mismatch")
        XCTAssertNil(file.tensor("nope"))
        XCTAssertEqual(file.weightBytes, 6 * 4 + 2 * 4 + 3 * 4 + 4 + 4)
        // The format-test config marks a container-only file: valid container, refused as a model.
        XCTAssertTrue(file.isFormatTest)
        XCTAssertThrowsError(try file.validateModel()) {
            XCTAssertEqual($0 as? ModelFileError, .notRunnable(reason: "config 'format-test' marks a container-only test file"))
        }
    }

    func testEveryTruncationIsATypedError() {
        let bytes = TestModelWriter.minimalFile()
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        for length in 0..<bytes.count {
            guard let error = modelFileError(Array(bytes.prefix(length))) else {
                XCTFail("prefix of \(length) bytes was accepted")
                continue
            }
            if length < 8 {
                XCTAssertEqual(error, .truncated(fileBytes: length, neededBytes: 8))
            } else if length < 8 + headerLength {
                XCTAssertEqual(error, .truncated(fileBytes: length, neededBytes: 8 + headerLength))
            } else {
                // The header is whole and the tensors tile a data region longer than what is left: a cut file.
                XCTAssertEqual(error, .truncated(fileBytes: length, neededBytes: bytes.count))
            }
        }
    }

    func testEverySingleBitFlipIsDetected() {
        let bytes = TestModelWriter.minimalFile()
        var kinds: [String: Int] = [:]
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            guard let error = modelFileError(flipped) else {
                XCTFail("flip of bit \(bit) was not detected")
                continue
            }
            XCTAssertFalse(error.description.isEmpty)
            let label = String(String(describing: error).prefix { $0 != "(" })
            kinds[label, default: 0] += 1
        }
        // Flips in the data region are caught by the CRC; flips in the header by the parser or the CRC.
        XCTAssertGreaterThan(kinds["checksumMismatch"] ?? 0, 100)
        XCTAssertGreaterThan(kinds.count, 4, "\(kinds)")
    }

    func testRandomMultiByteCorruptionNeverCrashes() {
        let bytes = TestModelWriter.minimalFile()
        var rng = SplitMix64(seed: 99)
        var accepted = 0
        for _ in 0..<5000 {
            var corrupted = bytes
            for _ in 0..<(1 + rng.below(6)) {
                corrupted[rng.below(corrupted.count)] ^= UInt8(1 + rng.below(255))
            }
            // Without the checksum a corrupted file may parse; it must never crash.
            if modelFileError(corrupted, verifyChecksum: false) == nil { accepted += 1 }
            XCTAssertNotNil(modelFileError(corrupted))
        }
        XCTAssertGreaterThan(accepted, 0)
    }

    func testOversizedHeaderLengths() {
        var bytes = TestModelWriter.minimalFile()
        for length: UInt64 in [UInt64.max, 1 << 63, (16 << 20) + 1] {
            withUnsafeBytes(of: length.littleEndian) { for i in 0..<8 { bytes[i] = $0[i] } }
            XCTAssertEqual(modelFileError(bytes), .headerTooLarge(length: length, limit: 16 << 20))
        }
        let size = UInt64(bytes.count)
        withUnsafeBytes(of: size.littleEndian) { for i in 0..<8 { bytes[i] = $0[i] } }
        XCTAssertEqual(modelFileError(bytes), .truncated(fileBytes: bytes.count, neededBytes: bytes.count + 8))
    }

    /// Rewrites the header text (keeping its length by space padding) and refreshes the CRC.
    private func editHeader(_ bytes: [UInt8], _ edit: (String) -> String) -> [UInt8] {
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        var text = Array(edit(header).utf8)
        while text.count % 8 != 0 { text.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(text.count).littleEndian) { out += $0 }
        out += text
        out += bytes[(8 + length)...]
        TestModelWriter.fixChecksum(&out)
        return out
    }

    func testContainerErrorsNameTheTensor() {
        let bytes = TestModelWriter.minimalFile()
        XCTAssertNil(modelFileError(editHeader(bytes) { $0 }))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"I32\"", with: "\"F16\"") }),
                       .unknownDType(tensor: "b.shift", dtype: "F16"))
        // b.shift as I8 needs 3 bytes, its offsets span 12.
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"I32\"", with: "\"I8\"") }),
                       .sizeMismatch(tensor: "b.shift", spanBytes: 12, expectedBytes: 3))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"shape\":[2,3]", with: "\"shape\":[3,3]") }),
                       .sizeMismatch(tensor: "a.weight", spanBytes: 24, expectedBytes: 36))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"shape\":[2,3]", with: "\"shape\":[2,-3]") }),
                       .badShape(tensor: "a.weight", reason: "dimension is not a non-negative integer"))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"shape\":[2,3]", with: "\"shape\":[1,1,1,2,3]") }),
                       .badShape(tensor: "a.weight", reason: "rank 5 above 4"))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"shape\":[2,3]", with: "\"shape\":[2,3.0]") }),
                       .badShape(tensor: "a.weight", reason: "dimension is not a non-negative integer"))
        // Layout: a.bias [0,8), a.weight [8,32), b.shift [32,44), scalar [44,48), c.weight [48,52), empty [52,52).
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "[8,32]", with: "[4,28]") }),
                       .overlappingOffsets(tensor: "a.weight", previous: "a.bias"))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "[44,48]", with: "[40,44]") }),
                       .overlappingOffsets(tensor: "scalar", previous: "b.shift"))
        XCTAssertEqual(modelFileError(editHeader(bytes) {
            $0.replacingOccurrences(of: "[32,44]", with: "[36,48]").replacingOccurrences(of: "[44,48]", with: "[32,36]")
        }), nil)
        XCTAssertEqual(modelFileError(editHeader(bytes) {
            $0.replacingOccurrences(of: "[32,44]", with: "[36,48]").replacingOccurrences(of: "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[44,48]},", with: "")
        }), .gapInData(tensor: "b.shift", offset: 36))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "[0,8]", with: "[9999,10007]") }),
                       .offsetsOutOfRange(tensor: "a.bias", begin: 9999, end: 10007, dataBytes: 52))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "[0,8]", with: "[8,0]") }),
                       .offsetsOutOfRange(tensor: "a.bias", begin: 8, end: 0, dataBytes: 52))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"data_offsets\":[0,8]", with: "\"data_offsets\":[0]") }),
                       .badTensorEntry(tensor: "a.bias", reason: "data_offsets must be two integers"))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"dtype\":\"F32\",\"shape\":[2],", with: "\"shape\":[2],") }),
                       .badTensorEntry(tensor: "a.bias", reason: "missing key 'dtype'"))
        XCTAssertEqual(modelFileError(editHeader(bytes) { $0.replacingOccurrences(of: "\"data_offsets\":[0,8]", with: "\"data_offsets\":[0,8],\"x\":1") }),
                       .badTensorEntry(tensor: "a.bias", reason: "unknown key 'x' (expected dtype, shape, data_offsets)"))
        guard case .badJSON(_, let duplicate)? = modelFileError(editHeader(bytes) {
            $0.replacingOccurrences(of: "\"a.bias\":{", with: "\"a.weight\":{")
        }) else { return XCTFail("duplicate tensor names accepted") }
        XCTAssertEqual(duplicate.reason, "duplicate key \"a.weight\"")
        XCTAssertEqual(modelFileError(editHeader(bytes) { _ in "[1,2]" }), .headerNotObject)
        guard case .badJSON(let what, _)? = modelFileError(editHeader(bytes) { String($0.dropLast()) }) else {
            return XCTFail("unterminated header accepted")
        }
        XCTAssertEqual(what, "header")
        // Extra bytes after the data, and a missing tensor's bytes.
        XCTAssertEqual(modelFileError(TestModelWriter.fixed(bytes + [0, 0, 0, 0])), .trailingBytes(count: 4))
    }

    func testU8IsReadInTensorFilesButRejectedInModelFiles() throws {
        var meta = TestModelWriter.formatTestMetadata
        let bytes = TestModelWriter.encode([.f32("x", [1], [1]), TestTensor(name: "map", dtype: "U8", shape: [2, 2], data: [0, 1, 254, 255])], metadata: meta)
        XCTAssertEqual(modelFileError(bytes), .unknownDType(tensor: "map", dtype: "U8"))
        meta["checksum"] = nil
        let plain = try SafeTensorsFile(storage: ModelFileBytes(bytes))
        XCTAssertEqual(plain.tensor("map")?.dtype, .u8)
        XCTAssertEqual((0..<4).map { plain.tensor("map")!.uint8($0) }, [0, 1, 254, 255])
        XCTAssertEqual(plain.tensor("x")?.float(0), 1)
    }

    func testMetadataErrors() {
        func file(_ change: (inout [String: String]) -> Void) -> [UInt8] {
            var meta = TestModelWriter.formatTestMetadata
            change(&meta)
            // A checksum value set by `change` is kept as written.
            return TestModelWriter.encode([.f32("x", [1], [1])], metadata: meta, fillChecksum: meta["checksum"] == nil)
        }
        XCTAssertNil(modelFileError(file { _ in }))
        XCTAssertEqual(modelFileError(file { $0["format"] = "onnx" }), .wrongFormat(found: "onnx"))
        XCTAssertEqual(modelFileError(file { $0["format_version"] = "2.0" }), .unsupportedFormatMajor(found: 2, supported: 1))
        XCTAssertNil(modelFileError(file { $0["format_version"] = "1.7" }))
        for bad in ["1", "1.", ".1", "1.0.0", "v1.0", "", "1.x"] {
            XCTAssertEqual(modelFileError(file { $0["format_version"] = bad }), .badFormatVersion(found: bad))
        }
        XCTAssertEqual(modelFileError(file { $0["numerics_version"] = "1" }), .unsupportedNumerics(found: "1", supported: "2"))
        XCTAssertEqual(modelFileError(file { $0["dtype"] = "int4" }), .badModelDType(found: "int4"))
        XCTAssertEqual(modelFileError(file { $0["config"] = nil }), .missingMetadata(key: "config"))
        XCTAssertEqual(modelFileError(file { $0["config"] = "[1]" }), .badConfigValue(key: "config", reason: "is a array, not a JSON object"))
        guard case .badJSON(let what, _)? = modelFileError(file { $0["calibration"] = "{" }) else { return XCTFail() }
        XCTAssertEqual(what, "metadata calibration")
        XCTAssertEqual(modelFileError(file { $0["checksum"] = "crc32:0000000g" }),
                       .badChecksumField(reason: "value is not crc32: followed by 8 lowercase hex digits"))
        XCTAssertEqual(modelFileError(file { $0["checksum"] = "md5:00000000" }),
                       .badChecksumField(reason: "marker \"checksum\":\"crc32: not found in the header"))
        // Escaped quotes inside a value do not form a second marker.
        XCTAssertNil(modelFileError(file { $0["producer"] = "\"checksum\":\"crc32:" }))
    }

    func testChecksumMismatchNamesBothValues() {
        var bytes = TestModelWriter.minimalFile()
        bytes[bytes.count - 1] ^= 0x40
        guard case .checksumMismatch(let stored, let computed)? = modelFileError(bytes) else { return XCTFail() }
        XCTAssertNotEqual(stored, computed)
        XCTAssertTrue(modelFileError(bytes)!.description.contains("crc32:" + hex8(stored)))
        XCTAssertNil(modelFileError(bytes, verifyChecksum: false))
    }

    func testMappedFileAndIOErrors() throws {
        let path = NSTemporaryDirectory() + "/engine-mapped-\(getpid()).dsm"
        let bytes = TestModelWriter.minimalFile()
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        defer { unlink(path) }
        let file = try ModelFile.open(path: path)
        XCTAssertEqual(file.tensor("a.bias")?.float(1), -0.5)
        XCTAssertThrowsError(try ModelFile.open(path: path + ".missing")) { error in
            guard case .io(_, let system)? = error as? ModelFileError else { return XCTFail() }
            XCTAssertEqual(system.code, ENOENT)
        }
        XCTAssertEqual((try? ModelFile.open(path: NSTemporaryDirectory())) == nil, true)
        XCTAssertThrowsError(try ModelFile.open(path: "/tmp")) { XCTAssertEqual($0 as? ModelFileError, .notARegularFile(path: "/tmp")) }
        let empty = path + ".empty"
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        defer { unlink(empty) }
        XCTAssertThrowsError(try ModelFile.open(path: empty)) { XCTAssertEqual($0 as? ModelFileError, .truncated(fileBytes: 0, neededBytes: 8)) }
    }
}

extension TestModelWriter {
    /// `bytes` with the CRC recomputed.
    static func fixed(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        fixChecksum(&copy)
        return copy
    }
}
