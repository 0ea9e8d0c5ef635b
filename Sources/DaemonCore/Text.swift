/// True when `text` contains `needle` (byte-wise; Embedded Swift lacks `String.contains(String)`).
func containsText(_ text: String, _ needle: String) -> Bool {
    let haystack = Array(text.utf8)
    let pattern = Array(needle.utf8)
    if pattern.isEmpty { return true }
    if pattern.count > haystack.count { return false }
    var start = 0
    while start + pattern.count <= haystack.count {
        var matched = true
        for offset in 0..<pattern.count where haystack[start + offset] != pattern[offset] {
            matched = false
            break
        }
        if matched { return true }
        start += 1
    }
    return false
}
