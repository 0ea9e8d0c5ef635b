/// A CPU list as Linux writes them (`taskset -c`, `/sys/devices/system/cpu/online`): numbers and inclusive
/// ranges, comma-separated, e.g. `4-7` or `0,2,5-6`.
public enum CPUList {
    /// The largest CPU number accepted (the kernel's CPU_SETSIZE is 1024).
    public static let maxCPU = 1023

    /// The CPUs of `text` in the order written (ranges ascending), or nil when it is not such a list, names a
    /// CPU above `maxCPU`, or a range runs backwards. Spaces around items are ignored; empty text is an empty list.
    public static func parse(_ text: String) -> [Int]? {
        var cpus: [Int] = []
        var item: [UInt8] = []
        func flush() -> Bool {
            while item.first == 32 { item.removeFirst() }
            while item.last == 32 { item.removeLast() }
            guard !item.isEmpty else { return false }
            var parts: [Int] = [], value = -1
            for byte in item {
                if byte == UInt8(ascii: "-") {
                    guard value >= 0 else { return false }
                    parts.append(value)
                    value = -1
                } else if byte >= 48 && byte <= 57 {
                    value = (value < 0 ? 0 : value) * 10 + Int(byte - 48)
                    if value > maxCPU { return false }
                } else {
                    return false
                }
            }
            guard value >= 0 else { return false }
            parts.append(value)
            switch parts.count {
            case 1: cpus.append(parts[0])
            case 2:
                guard parts[0] <= parts[1] else { return false }
                for cpu in parts[0]...parts[1] { cpus.append(cpu) }
            default: return false
            }
            item.removeAll()
            return true
        }
        let bytes = Array(text.utf8)
        if bytes.allSatisfy({ $0 == 32 }) { return [] }
        for byte in bytes {
            if byte == UInt8(ascii: ",") {
                guard flush() else { return nil }
            } else {
                item.append(byte)
            }
        }
        guard flush() else { return nil }
        return cpus
    }
}
