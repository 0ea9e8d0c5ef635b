import CEdgeShim

/// A bad configuration: which file (or environment variable), line and key, and what is wrong.
public struct ConfigError: Error, Equatable {
    /// The config file path, or "environment" for an override.
    public let file: String
    /// 1-based line number; 0 when the problem has no line (a missing file, an environment variable).
    public let line: Int
    /// "section.key", or "" when the problem is not about one key.
    public let key: String
    public let message: String

    public init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// "edge-daemon.conf:12: key 'pipeline.threads': expected an integer, got 'many'".
    public var description: String {
        var text = file
        if line > 0 { text += ":" + String(line) }
        text += ": "
        if !key.isEmpty { text += "key '" + key + "': " }
        return text + message
    }
}

/// One `key = value` line (or an environment override of one).
public struct ConfigEntry: Equatable {
    public let section: String
    public let key: String
    /// The value with surrounding quotes removed and escapes resolved.
    public let value: String
    /// Where the value came from: a file path, or "environment EDGE_X".
    public let origin: String
    public let line: Int

    /// "section.key".
    public var qualifiedKey: String { section + "." + key }
}

/// An INI-style configuration: `[section]` headers, `key = value` lines, `#` or `;` comments.
///
/// Values are unquoted text (an inline ` #` starts a comment) or double-quoted strings with `\"`, `\\`,
/// `\n`, `\t` escapes. A key may appear once per section; keys outside a section are errors.
public struct ConfigDocument {
    public let file: String
    public private(set) var entries: [ConfigEntry]

    /// Parses the text of a config file; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> ConfigDocument {
        var entries: [ConfigEntry] = []
        var section: String? = nil
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = trim(Substring(rawLine))
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw ConfigError(file: file, line: number, key: "", message: "malformed section header '" + line + "'")
                }
                let name = trim(Substring(line.dropFirst().dropLast()))
                guard isName(name) else {
                    throw ConfigError(file: file, line: number, key: "", message: "bad section name '" + name + "'")
                }
                section = name
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(file: file, line: number, key: "", message: "expected 'key = value', got '" + line + "'")
            }
            let key = trim(line[line.startIndex..<equals])
            guard isName(key) else {
                throw ConfigError(file: file, line: number, key: key, message: "bad key name")
            }
            guard let section else {
                throw ConfigError(file: file, line: number, key: key, message: "key outside any [section]")
            }
            let value: String
            do throws(ConfigValueError) {
                value = try unquote(line[line.index(after: equals)...])
            } catch {
                throw ConfigError(file: file, line: number, key: section + "." + key, message: error.message)
            }
            if let previous = entries.first(where: { $0.section == section && $0.key == key }) {
                throw ConfigError(file: file, line: number, key: section + "." + key,
                                  message: "set twice (first on line " + String(previous.line) + ")")
            }
            entries.append(ConfigEntry(section: section, key: key, value: value, origin: file, line: number))
        }
        return ConfigDocument(file: file, entries: entries)
    }

    /// Reads and parses a config file.
    public static func load(path: String) throws(ConfigError) -> ConfigDocument {
        let text: String
        do throws(SystemError) {
            text = try readTextFile(path: path, limit: 1 << 20)
        } catch {
            throw ConfigError(file: path, line: 0, key: "", message: "cannot read: " + error.description)
        }
        return try parse(text, file: path)
    }

    /// Sets (or replaces) `section.key` from an environment variable; the variable is named in errors.
    public mutating func override(section: String, key: String, value: String, variable: String) {
        entries.removeAll { $0.section == section && $0.key == key }
        entries.append(ConfigEntry(section: section, key: key, value: value, origin: "environment " + variable, line: 0))
    }

    /// The entry for `section.key`, if set.
    public func entry(_ section: String, _ key: String) -> ConfigEntry? {
        entries.first { $0.section == section && $0.key == key }
    }

    static func isName(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        return text.utf8.allSatisfy { c in
            (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95 || c == 45 || c == 46
        }
    }

    static func trim(_ text: Substring) -> String {
        var slice = text
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
        return String(slice)
    }

    /// Removes quotes and a trailing comment from a raw value.
    static func unquote(_ raw: Substring) throws(ConfigValueError) -> String {
        let text = trim(raw)
        guard text.hasPrefix("\"") else {
            // An unquoted value ends at " #" so comments can follow it.
            var value = text
            if let range = findComment(text) { value = trim(text[text.startIndex..<range]) }
            return value
        }
        var result = ""
        var index = text.index(after: text.startIndex)
        var closed = false
        while index < text.endIndex {
            let c = text[index]
            if c == "\\" {
                index = text.index(after: index)
                guard index < text.endIndex else { break }
                switch text[index] {
                case "\"": result.append("\"")
                case "\\": result.append("\\")
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: throw ConfigValueError("unknown escape '\\" + String(text[index]) + "' in quoted string")
                }
            } else if c == "\"" {
                closed = true
                index = text.index(after: index)
                break
            } else {
                result.append(c)
            }
            index = text.index(after: index)
        }
        guard closed else { throw ConfigValueError("unterminated quoted string") }
        let rest = trim(text[index...])
        guard rest.isEmpty || rest.hasPrefix("#") || rest.hasPrefix(";") else {
            throw ConfigValueError("unexpected text after quoted string: '" + rest + "'")
        }
        return result
    }

    private static func findComment(_ text: String) -> String.Index? {
        var previousWasSpace = false
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if (c == "#" || c == ";") && previousWasSpace { return index }
            previousWasSpace = c == " " || c == "\t"
            index = text.index(after: index)
        }
        return nil
    }
}

/// Reads a whole (small) text file; `limit` bounds the size accepted.
public func readTextFile(path: String, limit: Int) throws(SystemError) -> String {
    let bytes = try readFileBytes(path: path, limit: limit)
    return String(decoding: bytes, as: UTF8.self)
}

/// Reads a whole file into memory, refusing files larger than `limit` bytes (EFBIG).
public func readFileBytes(path: String, limit: Int) throws(SystemError) -> [UInt8] {
    let fd = edge_open(path, O_RDONLY | O_CLOEXEC, 0)
    if fd < 0 { throw SystemError.current("open") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if edge_errno() == EINTR { continue }
            throw SystemError.current("read")
        }
        if n == 0 { break }
        if bytes.count + n > limit { throw SystemError("read", code: EFBIG) }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}
