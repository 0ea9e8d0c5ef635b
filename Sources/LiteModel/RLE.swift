// COCO run-length encoding of binary masks, in pycocotools' compressed string form.
//
// Our masks are row-major (height x width, index y * width + x); COCO reads pixels column-major
// (index x * height + y), so the encoder walks columns. Runs alternate starting with background
// (the first count may be 0). Compressed form: count i > 2 is stored as cnt[i] - cnt[i-2]; each value
// goes out in 5-bit groups, least significant first, 0x20 marking "more follows", each group + 48
// (ASCII '0'...'o'); the decoder sign-extends on bit 0x10 of the last group.

/// A malformed mask size, a buffer too small for an encoding, or a corrupt compressed string.
public enum RLEError: Error, Equatable {
    /// Height or width negative, or the pixel count does not fit, or the mask buffer has the wrong length.
    case invalidSize(height: Int, width: Int, pixels: Int)
    /// The output buffer cannot hold the encoding (see `COCORLE.maxEncodedLength`).
    case bufferTooSmall(capacity: Int)
    /// A character outside '0'...'o' at `offset`.
    case invalidCharacter(offset: Int)
    /// The string ends in the middle of a count.
    case truncated
    /// A count is negative or does not fit.
    case invalidCount(index: Int)
    /// The runs do not add up to height x width.
    case lengthMismatch(expected: Int, actual: Int)
}

/// COCO RLE (pycocotools' compressed `counts` string) for row-major binary masks.
public enum COCORLE {
    /// An upper bound on the encoded length of any height x width mask, for sizing buffers.
    public static func maxEncodedLength(height: Int, width: Int) -> Int {
        (max(0, height) &* max(0, width) + 1) * maxCountLength(height: height, width: width)
    }

    /// An upper bound on the encoded length of a height x width mask with `area` foreground pixels: at most
    /// `2 * area + 1` runs (instance masks, encoded into slots of this size).
    public static func maxEncodedLength(area: Int, height: Int, width: Int) -> Int {
        (2 * max(0, area) + 1) * maxCountLength(height: height, width: width)
    }

    /// Characters one count of a height x width mask can take.
    public static func maxCountLength(height: Int, width: Int) -> Int {
        let pixels = max(0, height) &* max(0, width)
        // A difference of two counts lies in [-pixels, pixels]: significant bits + a sign bit, 5 per character.
        let bits = (Int.bitWidth - pixels.leadingZeroBitCount) + 1
        return (bits + 4) / 5
    }

    /// Encodes a row-major mask (nonzero = foreground) into `output`; returns the number of bytes written.
    /// Allocates nothing.
    public static func encode(mask: UnsafeBufferPointer<UInt8>, height: Int, width: Int,
                              into output: UnsafeMutableBufferPointer<UInt8>) throws(RLEError) -> Int {
        try encode(map: mask, threshold: 0, height: height, width: width, into: output)
    }

    /// Encodes the mask `map > threshold` of a row-major 8-bit map (the frame mask when no component is dropped:
    /// it needs no labels, so it can run alongside the labelling). Allocates nothing; pixel by pixel (the
    /// reference of the strip form below).
    public static func encode(map: UnsafeBufferPointer<UInt8>, threshold: UInt8, height: Int, width: Int,
                              into output: UnsafeMutableBufferPointer<UInt8>) throws(RLEError) -> Int {
        try checkSize(map.count, height: height, width: width)
        return try encodeColumns__scalar_ref(0..<width, height: height, width: width, into: output) { map[$0] > threshold }
    }

    /// `encode(map:threshold:height:width:into:)` by strips of 64 columns (`scratch` holds `scratchCount(height:)`
    /// words): the same bytes, without reading the map column by column.
    public static func encode(map: UnsafeBufferPointer<UInt8>, threshold: UInt8, height: Int, width: Int,
                              scratch: UnsafeMutablePointer<UInt64>,
                              into output: UnsafeMutableBufferPointer<UInt8>) throws(RLEError) -> Int {
        try checkSize(map.count, height: height, width: width)
        let base = map.baseAddress!
        let swar = ByteThreshold(threshold)
        return try encodeStrips(0..<width, height: height, width: width, scratch: scratch, into: output) { row, x0, count in
            var bits: UInt64 = 0, i = 0
            while i + 8 <= count {
                bits |= swar.bits(UnsafeRawPointer(base + row + x0 + i).loadUnaligned(as: UInt64.self)) << UInt64(i)
                i += 8
            }
            while i < count {
                if base[row + x0 + i] > threshold { bits |= 1 << UInt64(i) }
                i += 1
            }
            return bits
        }
    }

    /// Encodes the pixels of row-major `labels` equal to `id` (ids > 0) or, with `id` nil, every pixel with a
    /// label > 0; only `columns` are read, every pixel outside them is background (an instance's bbox columns
    /// give its exact mask). Allocates nothing; pixel by pixel (the reference of the strip form below).
    public static func encode(labels: UnsafeBufferPointer<Int32>, id: Int32?, height: Int, width: Int,
                              columns: Range<Int>, into output: UnsafeMutableBufferPointer<UInt8>) throws(RLEError) -> Int {
        try checkSize(labels.count, height: height, width: width)
        let cols = columns.clamped(to: 0..<width)
        if let id {
            return try encodeColumns__scalar_ref(cols, height: height, width: width, into: output) { labels[$0] == id }
        }
        return try encodeColumns__scalar_ref(cols, height: height, width: width, into: output) { labels[$0] > 0 }
    }

    /// `encode(labels:id:height:width:columns:into:)` by strips of 64 columns (`scratch` holds
    /// `scratchCount(height:)` words): the same bytes, without reading the labels column by column.
    public static func encode(labels: UnsafeBufferPointer<Int32>, id: Int32?, height: Int, width: Int,
                              columns: Range<Int>, scratch: UnsafeMutablePointer<UInt64>,
                              into output: UnsafeMutableBufferPointer<UInt8>) throws(RLEError) -> Int {
        try checkSize(labels.count, height: height, width: width)
        let base = labels.baseAddress!, cols = columns.clamped(to: 0..<width)
        return try encodeStrips(cols, height: height, width: width, scratch: scratch, into: output) { row, x0, count in
            var bits: UInt64 = 0
            let p = base + row + x0
            if let id {
                for i in 0..<count { bits |= (p[i] == id ? 1 : 0) << UInt64(i) }
            } else {
                for i in 0..<count { bits |= (p[i] > 0 ? 1 : 0) << UInt64(i) }
            }
            return bits
        }
    }

    /// UInt64 words of the strip encoders' scratch for `height` rows.
    public static func scratchCount(height: Int) -> Int { (max(height, 1) + 63) / 64 * 64 }

    private static func checkSize(_ count: Int, height: Int, width: Int) throws(RLEError) {
        let (pixels, overflow) = height.multipliedReportingOverflow(by: width)
        guard height >= 0, width >= 0, !overflow, count == pixels else {
            throw RLEError.invalidSize(height: height, width: width, pixels: count)
        }
    }

    /// Runs in column-major (COCO) order of a `height x width` mask whose foreground lies in `columns` and is
    /// `isForeground(rowMajorIndex)` there; the columns before and after are one background run each.
    @inline(__always)
    static func encodeColumns__scalar_ref(_ columns: Range<Int>, height: Int, width: Int,
                                          into output: UnsafeMutableBufferPointer<UInt8>,
                                          _ isForeground: (Int) -> Bool) throws(RLEError) -> Int {
        var writer = CountWriter(output: output)
        var current = false  // the value of the run being counted; COCO starts with background
        var run = columns.lowerBound * height
        for x in columns {
            var index = x
            for _ in 0..<height {
                let value = isForeground(index)
                if value != current {
                    try writer.append(run)
                    current = value
                    run = 0
                }
                run += 1
                index += width
            }
        }
        return try writer.finish(current: current, run: run, after: (width - columns.upperBound) * height)
    }

    /// `encodeColumns__scalar_ref` by strips of up to 64 columns: `rowBits(rowStart, x0, count)` gives a row's
    /// foreground bits of the strip's `count` columns from `x0` (bit i = column x0 + i), one pass over the rows;
    /// each 64 x 64 block of those bits is transposed in place, so a column's pixels are words of 64 rows, and its
    /// runs end where a word differs from itself shifted by one row (found by trailing-zero counts, not per pixel).
    /// Reading a row-major map column by column touched a cache line per pixel.
    @inline(__always)
    static func encodeStrips(_ columns: Range<Int>, height: Int, width: Int, scratch words: UnsafeMutablePointer<UInt64>,
                             into output: UnsafeMutableBufferPointer<UInt8>,
                             _ rowBits: (_ rowStart: Int, _ x0: Int, _ count: Int) -> UInt64) throws(RLEError) -> Int {
        var writer = CountWriter(output: output)
        var current = false
        var run = columns.lowerBound * height
        let blocks = (height + 63) / 64
        var x0 = columns.lowerBound
        while x0 < columns.upperBound {
            let count = min(64, columns.upperBound - x0)
            // Words past the last row keep whatever they held: they become bits of rows >= `valid`, masked below.
            for y in 0..<height { words[y] = rowBits(y * width, x0, count) }
            for b in 0..<blocks { transpose64(words + 64 * b) }
            for i in 0..<count {
                for b in 0..<blocks {
                    let valid = min(64, height - 64 * b)
                    let word = words[64 * b + i]
                    // Bit j of `edges`: row j of this block differs from the row before it (the first from `current`).
                    var edges = (word ^ (word << 1 | (current ? 1 : 0)))
                    if valid < 64 { edges &= (1 << UInt64(valid)) &- 1 }
                    var position = 0
                    while edges != 0 {
                        let j = edges.trailingZeroBitCount
                        run += j - position
                        try writer.append(run)
                        run = 0
                        position = j
                        current.toggle()
                        edges &= edges &- 1
                    }
                    run += valid - position
                }
            }
            x0 += count
        }
        return try writer.finish(current: current, run: run, after: (width - columns.upperBound) * height)
    }

    /// Transposes a 64 x 64 bit matrix in place: afterwards bit j of word i is what bit i of word j was.
    @inline(__always)
    static func transpose64(_ a: UnsafeMutablePointer<UInt64>) {
        var j = 32, mask: UInt64 = 0x0000_0000_ffff_ffff
        while j != 0 {
            var k = 0
            while k < 64 {
                let t = ((a[k] >> UInt64(j)) ^ a[k + j]) & mask
                a[k] ^= t << UInt64(j)
                a[k + j] ^= t
                k = (k + j + 1) & ~j
            }
            j >>= 1
            mask ^= mask << UInt64(j)
        }
    }

    /// Encodes a row-major mask into a new byte array (allocates; see the buffer form for hot paths).
    public static func encode(mask: [UInt8], height: Int, width: Int) throws(RLEError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: maxEncodedLength(height: height, width: width))
        var result: Result<Int, RLEError> = .success(0)
        mask.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                do throws(RLEError) {
                    result = .success(try encode(mask: source, height: height, width: width, into: target))
                } catch {
                    result = .failure(error)
                }
            }
        }
        output.removeLast(output.count - (try result.get()))
        return output
    }

    /// Encodes a row-major mask into the compressed string.
    public static func encodeString(mask: [UInt8], height: Int, width: Int) throws(RLEError) -> String {
        String(decoding: try encode(mask: mask, height: height, width: width), as: UTF8.self)
    }

    /// Decodes a compressed string into run lengths (background first), checking they cover height x width.
    public static func decodeCounts(_ counts: some Collection<UInt8>, height: Int, width: Int) throws(RLEError) -> [Int] {
        let (pixels, overflow) = height.multipliedReportingOverflow(by: width)
        guard height >= 0, width >= 0, !overflow else {
            throw RLEError.invalidSize(height: height, width: width, pixels: 0)
        }
        var runs: [Int] = []
        var total = 0
        var offset = 0
        var iterator = counts.makeIterator()
        var next = iterator.next()
        while next != nil {
            var value: Int64 = 0
            var shift: Int64 = 0
            var more = true
            while more {
                guard let c = next else { throw RLEError.truncated }
                guard c >= 48, c <= 111 else { throw RLEError.invalidCharacter(offset: offset) }
                let group = Int64(c) - 48
                // 13 groups are 65 bits: anything longer cannot be a valid count.
                guard shift < 60 else { throw RLEError.invalidCount(index: runs.count) }
                value |= (group & 0x1f) << shift
                more = (group & 0x20) != 0
                shift += 5
                if !more && (group & 0x10) != 0 { value |= -1 << shift }
                offset += 1
                next = iterator.next()
            }
            if runs.count > 2 {
                let (sum, overflowed) = value.addingReportingOverflow(Int64(runs[runs.count - 2]))
                guard !overflowed else { throw RLEError.invalidCount(index: runs.count) }
                value = sum
            }
            guard value >= 0, value <= Int64(pixels) else { throw RLEError.invalidCount(index: runs.count) }
            total += Int(value)
            guard total <= pixels else { throw RLEError.lengthMismatch(expected: pixels, actual: total) }
            runs.append(Int(value))
        }
        guard total == pixels else { throw RLEError.lengthMismatch(expected: pixels, actual: total) }
        return runs
    }

    /// Decodes a compressed string into a row-major 0/1 mask of height x width.
    public static func decode(_ counts: some Collection<UInt8>, height: Int, width: Int) throws(RLEError) -> [UInt8] {
        let runs = try decodeCounts(counts, height: height, width: width)
        var mask = [UInt8](repeating: 0, count: height * width)
        var position = 0  // column-major position
        var value: UInt8 = 0
        for run in runs {
            if value == 1 {
                var k = position
                while k < position + run {
                    let x = k / height, y = k % height
                    mask[y * width + x] = 1
                    k += 1
                }
            }
            position += run
            value ^= 1
        }
        return mask
    }

    /// The foreground pixel count of a compressed string (sum of the odd runs).
    public static func area(_ counts: some Collection<UInt8>, height: Int, width: Int) throws(RLEError) -> Int {
        let runs = try decodeCounts(counts, height: height, width: width)
        var area = 0
        var index = 1
        while index < runs.count {
            area += runs[index]
            index += 2
        }
        return area
    }
}

/// Appends counts in the compressed form, remembering the two previous counts for the differences.
private struct CountWriter {
    let output: UnsafeMutableBufferPointer<UInt8>
    var written = 0
    var index = 0
    var previous1 = 0  // cnt[index - 1]
    var previous2 = 0  // cnt[index - 2]

    init(output: UnsafeMutableBufferPointer<UInt8>) { self.output = output }

    /// The last runs: the one being counted if it is foreground, then the background after `columns` (always
    /// written when the mask ends in background: COCO's counts end with the last run).
    mutating func finish(current: Bool, run: Int, after: Int) throws(RLEError) -> Int {
        var run = run
        if current {
            try append(run)
            run = 0
        }
        run += after
        if !current || run > 0 { try append(run) }
        return written
    }

    mutating func append(_ count: Int) throws(RLEError) {
        var x = count
        if index > 2 { x -= previous2 }
        previous2 = previous1
        previous1 = count
        index += 1
        var more = true
        while more {
            var c = x & 0x1f
            x >>= 5  // arithmetic shift keeps the sign
            more = (c & 0x10) != 0 ? x != -1 : x != 0
            if more { c |= 0x20 }
            guard written < output.count else { throw RLEError.bufferTooSmall(capacity: output.count) }
            output[written] = UInt8(c + 48)
            written += 1
        }
    }
}
