import CEdgeShim

/// Why a config value could not be converted to its type.
public struct ConfigValueError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Conversions of config value text to typed values.
public enum ConfigValue {
    /// A decimal integer, optionally negative, with `_` separators allowed.
    public static func integer(_ text: String) throws(ConfigValueError) -> Int {
        var digits = Substring(text)
        var negative = false
        if digits.hasPrefix("-") { negative = true; digits = digits.dropFirst() } else if digits.hasPrefix("+") { digits = digits.dropFirst() }
        guard !digits.isEmpty else { throw ConfigValueError("expected an integer, got '" + text + "'") }
        var value = 0
        for c in digits.utf8 {
            if c == 95 { continue }
            guard c >= 48 && c <= 57 else { throw ConfigValueError("expected an integer, got '" + text + "'") }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int(c - 48))
            if o1 || o2 { throw ConfigValueError("integer out of range: '" + text + "'") }
            value = plus
        }
        return negative ? -value : value
    }

    /// A finite decimal number ("0.5", "2", "1e-3").
    public static func number(_ text: String) throws(ConfigValueError) -> Double {
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 || $0 == 43 || $0 == 101 || $0 == 69 }) else {
            throw ConfigValueError("expected a number, got '" + text + "'")
        }
        var end: UnsafeMutablePointer<CChar>? = nil
        var consumedAll = false
        let value = text.withCString { start -> Double in
            let v = strtod(start, &end)
            consumedAll = end != nil && end!.pointee == 0 && end! != UnsafeMutablePointer(mutating: start)
            return v
        }
        guard consumedAll, value.isFinite else { throw ConfigValueError("expected a number, got '" + text + "'") }
        return value
    }

    /// "true"/"false", "yes"/"no", "on"/"off", "1"/"0".
    public static func boolean(_ text: String) throws(ConfigValueError) -> Bool {
        switch text {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigValueError("expected true or false, got '" + text + "'")
        }
    }

    /// A duration with a unit (ns, us, ms, s, min, h), e.g. "500ms", "2s", "1.5s"; "0" alone is allowed.
    /// Returns nanoseconds.
    public static func duration(_ text: String) throws(ConfigValueError) -> UInt64 {
        if text == "0" { return 0 }
        let (number, unit) = splitUnit(text)
        let scale: Double
        switch unit {
        case "ns": scale = 1
        case "us": scale = 1e3
        case "ms": scale = 1e6
        case "s": scale = 1e9
        case "min", "m": scale = 60e9
        case "h": scale = 3600e9
        case "": throw ConfigValueError("duration needs a unit (ns, us, ms, s, min, h), got '" + text + "'")
        default: throw ConfigValueError("unknown duration unit '" + unit + "' in '" + text + "'")
        }
        let value: Double
        do throws(ConfigValueError) { value = try self.number(number) } catch {
            throw ConfigValueError("expected a duration like 500ms or 2s, got '" + text + "'")
        }
        let nanoseconds = value * scale
        guard value >= 0, nanoseconds < 1.8e19 else { throw ConfigValueError("duration out of range: '" + text + "'") }
        return UInt64(nanoseconds + 0.5)
    }

    /// A size in bytes: a plain number, or with B, KiB/MiB/GiB (also K/M/G, powers of 1024) or KB/MB/GB (powers of 1000).
    public static func size(_ text: String) throws(ConfigValueError) -> UInt64 {
        let (number, unit) = splitUnit(text)
        let scale: Double
        switch unit {
        case "", "B": scale = 1
        case "K", "KiB": scale = 1024
        case "M", "MiB": scale = 1024 * 1024
        case "G", "GiB": scale = 1024 * 1024 * 1024
        case "KB": scale = 1e3
        case "MB": scale = 1e6
        case "GB": scale = 1e9
        default: throw ConfigValueError("unknown size unit '" + unit + "' in '" + text + "' (use B, KiB, MiB, GiB)")
        }
        let value: Double
        do throws(ConfigValueError) { value = try self.number(number) } catch {
            throw ConfigValueError("expected a size like 512MiB, got '" + text + "'")
        }
        let bytes = value * scale
        guard value >= 0, bytes < 1.8e19 else { throw ConfigValueError("size out of range: '" + text + "'") }
        return UInt64(bytes + 0.5)
    }

    /// A comma-separated list; items are trimmed and may be double-quoted; an empty value is an empty list.
    public static func list(_ text: String) throws(ConfigValueError) -> [String] {
        if text.isEmpty { return [] }
        var items: [String] = []
        var current = ""
        var quoted = false
        for c in text {
            if c == "\"" { quoted.toggle(); current.append(c); continue }
            if c == "," && !quoted {
                items.append(try item(current, text))
                current = ""
            } else {
                current.append(c)
            }
        }
        if quoted { throw ConfigValueError("unterminated quoted item in list '" + text + "'") }
        items.append(try item(current, text))
        return items
    }

    private static func item(_ raw: String, _ whole: String) throws(ConfigValueError) -> String {
        let trimmed = ConfigDocument.trim(Substring(raw))
        if trimmed.isEmpty { throw ConfigValueError("empty item in list '" + whole + "'") }
        if trimmed.hasPrefix("\"") { return try ConfigDocument.unquote(Substring(trimmed)) }
        return trimmed
    }

    private static func splitUnit(_ text: String) -> (String, String) {
        var index = text.endIndex
        while index > text.startIndex {
            let previous = text.index(before: index)
            let c = text[previous]
            if (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") { index = previous } else { break }
        }
        return (ConfigDocument.trim(text[text.startIndex..<index]), String(text[index...]))
    }
}

/// Typed, schema-checked reads of a `ConfigDocument`: each read names file, line and key on error, and
/// `finish()` rejects every key no read asked for.
public final class ConfigReader {
    public let document: ConfigDocument
    // An array, not a Set: hashed collections pull libm's ceil into Embedded links.
    private var used: [String] = []

    public init(_ document: ConfigDocument) { self.document = document }

    /// True when `section.key` is set.
    public func has(_ section: String, _ key: String) -> Bool {
        document.entry(section, key) != nil
    }

    public func string(_ section: String, _ key: String, default fallback: String) -> String {
        raw(section, key)?.value ?? fallback
    }

    /// An optional string: nil when unset or set to "".
    public func optionalString(_ section: String, _ key: String) -> String? {
        guard let value = raw(section, key)?.value, !value.isEmpty else { return nil }
        return value
    }

    public func integer(_ section: String, _ key: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let entry = raw(section, key) else { return fallback }
        let value = try convert(entry) { (text: String) throws(ConfigValueError) -> Int in try ConfigValue.integer(text) }
        guard range.contains(value) else {
            throw error(entry, "must be between " + String(range.lowerBound) + " and " + String(range.upperBound) + ", got " + String(value))
        }
        return value
    }

    public func number(_ section: String, _ key: String, default fallback: Double, minimum: Double, maximum: Double) throws(ConfigError) -> Double {
        guard let entry = raw(section, key) else { return fallback }
        let value = try convert(entry) { (text: String) throws(ConfigValueError) -> Double in try ConfigValue.number(text) }
        guard value >= minimum && value <= maximum else {
            throw error(entry, "out of range: '" + entry.value + "'")
        }
        return value
    }

    public func boolean(_ section: String, _ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let entry = raw(section, key) else { return fallback }
        return try convert(entry) { (text: String) throws(ConfigValueError) -> Bool in try ConfigValue.boolean(text) }
    }

    /// A duration in nanoseconds.
    public func duration(_ section: String, _ key: String, default fallback: UInt64) throws(ConfigError) -> UInt64 {
        guard let entry = raw(section, key) else { return fallback }
        return try convert(entry) { (text: String) throws(ConfigValueError) -> UInt64 in try ConfigValue.duration(text) }
    }

    /// A size in bytes.
    public func size(_ section: String, _ key: String, default fallback: UInt64) throws(ConfigError) -> UInt64 {
        guard let entry = raw(section, key) else { return fallback }
        return try convert(entry) { (text: String) throws(ConfigValueError) -> UInt64 in try ConfigValue.size(text) }
    }

    public func list(_ section: String, _ key: String, default fallback: [String]) throws(ConfigError) -> [String] {
        guard let entry = raw(section, key) else { return fallback }
        return try convert(entry) { (text: String) throws(ConfigValueError) -> [String] in try ConfigValue.list(text) }
    }

    /// One of a fixed set of words.
    public func choice(_ section: String, _ key: String, default fallback: String, allowed: [String]) throws(ConfigError) -> String {
        guard let entry = raw(section, key) else { return fallback }
        guard allowed.contains(entry.value) else {
            var names = ""
            for (i, name) in allowed.enumerated() { names += (i == 0 ? "" : ", ") + name }
            throw error(entry, "expected one of " + names + ", got '" + entry.value + "'")
        }
        return entry.value
    }

    /// An error about `section.key` at the place it was set (or the file, when unset).
    public func error(_ section: String, _ key: String, _ message: String) -> ConfigError {
        if let entry = document.entry(section, key) { return error(entry, message) }
        return ConfigError(file: document.file, line: 0, key: section + "." + key, message: message)
    }

    /// Rejects every key that no read asked for.
    public func finish() throws(ConfigError) {
        for entry in document.entries where !used.contains(entry.qualifiedKey) {
            throw ConfigError(file: entry.origin, line: entry.line, key: entry.qualifiedKey, message: "unknown key")
        }
    }

    private func raw(_ section: String, _ key: String) -> ConfigEntry? {
        let name = section + "." + key
        if !used.contains(name) { used.append(name) }
        return document.entry(section, key)
    }

    private func error(_ entry: ConfigEntry, _ message: String) -> ConfigError {
        ConfigError(file: entry.origin, line: entry.line, key: entry.qualifiedKey, message: message)
    }

    private func convert<T>(_ entry: ConfigEntry, _ body: (String) throws(ConfigValueError) -> T) throws(ConfigError) -> T {
        do throws(ConfigValueError) {
            return try body(entry.value)
        } catch {
            throw self.error(entry, error.message)
        }
    }
}
