import CEdgeShim
import CGpiod

/// GPIO through libgpiod 1.6 (`gpiod_chip_open_by_name/label`, `gpiod_line_request_*`).
public final class LibgpiodBackend: GpioBackend {
    public init() {}

    /// One requested line with the chip handle that owns it.
    final class Line: GpioOutputLine, GpioInputLine {
        private var chip: OpaquePointer?
        private var line: OpaquePointer?
        private let label: String

        init(chip: OpaquePointer, line: OpaquePointer, label: String) {
            self.chip = chip
            self.line = line
            self.label = label
        }

        deinit { release() }

        func set(_ high: Bool) throws(GpioError) {
            guard let line else { throw GpioError(label + ": line released") }
            if gpiod_line_set_value(line, high ? 1 : 0) != 0 { throw LibgpiodBackend.failure("set " + label) }
        }

        func read() throws(GpioError) -> Bool {
            guard let line else { throw GpioError(label + ": line released") }
            let value = gpiod_line_get_value(line)
            if value < 0 { throw LibgpiodBackend.failure("read " + label) }
            return value != 0
        }

        func waitForEdge(timeoutNanoseconds: UInt64) throws(GpioError) -> Bool {
            guard let line else { throw GpioError(label + ": line released") }
            var timeout = timespec(tv_sec: Int(timeoutNanoseconds / 1_000_000_000), tv_nsec: Int(timeoutNanoseconds % 1_000_000_000))
            let status = gpiod_line_event_wait(line, &timeout)
            if status < 0 {
                if edge_errno() == EINTR { return false }
                throw LibgpiodBackend.failure("wait for an edge on " + label)
            }
            if status == 0 { return false }
            var event = gpiod_line_event()
            if gpiod_line_event_read(line, &event) != 0 { throw LibgpiodBackend.failure("read an edge on " + label) }
            return true
        }

        func release() {
            if let line { gpiod_line_release(line) }
            if let chip { gpiod_chip_close(chip) }
            line = nil
            chip = nil
        }
    }

    public func requestOutput(chip: ChipSelector, line: LineSelector, consumer: String, initial: Bool) throws(GpioError) -> any GpioOutputLine {
        let (chipHandle, lineHandle, label) = try open(chip, line)
        if gpiod_line_request_output(lineHandle, consumer, initial ? 1 : 0) != 0 {
            let error = LibgpiodBackend.failure("request " + label + " as output")
            gpiod_chip_close(chipHandle)
            throw error
        }
        return Line(chip: chipHandle, line: lineHandle, label: label)
    }

    public func requestInput(chip: ChipSelector, line: LineSelector, consumer: String) throws(GpioError) -> any GpioInputLine {
        let (chipHandle, lineHandle, label) = try open(chip, line)
        if gpiod_line_request_both_edges_events(lineHandle, consumer) != 0 {
            let error = LibgpiodBackend.failure("request edge events on " + label)
            gpiod_chip_close(chipHandle)
            throw error
        }
        return Line(chip: chipHandle, line: lineHandle, label: label)
    }

    private func open(_ chip: ChipSelector, _ line: LineSelector) throws(GpioError) -> (OpaquePointer, OpaquePointer, String) {
        let chipHandle: OpaquePointer?
        let chipLabel: String
        switch chip {
        case .name(let name):
            chipHandle = gpiod_chip_open_by_name(name)
            chipLabel = "chip '" + name + "'"
        case .label(let label):
            chipHandle = gpiod_chip_open_by_label(label)
            chipLabel = "chip labelled '" + label + "'"
        }
        guard let chipHandle else { throw LibgpiodBackend.failure("open GPIO " + chipLabel) }
        let lineHandle: OpaquePointer?
        let lineLabel: String
        switch line {
        case .offset(let offset):
            lineHandle = gpiod_chip_get_line(chipHandle, offset)
            lineLabel = "line " + String(offset) + " of " + chipLabel
        case .name(let name):
            lineHandle = gpiod_chip_find_line(chipHandle, name)
            lineLabel = "line '" + name + "' of " + chipLabel
        }
        guard let lineHandle else {
            let error = LibgpiodBackend.failure("find " + lineLabel)
            gpiod_chip_close(chipHandle)
            throw error
        }
        return (chipHandle, lineHandle, lineLabel)
    }

    static func failure(_ what: String) -> GpioError {
        let code = edge_errno()
        var text = "cannot " + what
        if code != 0, let message = strerror(code) { text += ": " + String(cString: message) }
        return GpioError(text)
    }
}
