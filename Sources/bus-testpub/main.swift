// bus-testpub: a small publisher and codec front end driven by arguments, for the Python and C tests
// of the bus (tests/python/test_bus_*.py). Not shipped; it exercises the same Bus code the daemon uses.
import Bus
import CEdgeShim
import EdgeRuntime
import LiteModel

let usage = """
usage: bus-testpub COMMAND [OPTIONS]
  rle                 read "H W BITS" lines (BITS: H*W '0'/'1' characters, row-major) on stdin,
                      print the COCO RLE counts string of each
  json                print random detection messages, one JSON body per line
                      --seed N --count N [--max-side N]
  keygen              --public PATH --secret PATH: write a CURVE key pair in Z85
  bench-encode        --count N [--instances N] [--side N]: encode one detection message N times into one
                      buffer; prints "encoded=N bytes=N ns_per_message=N" (tests count mallocs around it)
  publish             --endpoint E [--endpoint E2] [--count N] [--seed N] [--camera C] [--interval-us N]
                      [--hwm N] [--linger-ms N] [--pad-bytes N] [--curve-secret PATH --allow PATH] [--ipc-mode OCTAL]
                      Binds, prints "bound <endpoint>" per endpoint, publishes meta every 20 ms until a line
                      arrives on stdin, then N detections (det/<camera>) and one health message; prints
                      "done sent=N dropped=N elapsed_us=N max_publish_us=N", closes, prints "closed close_us=N".
"""

struct Options {
    var values: [(String, String)] = []

    init(_ arguments: ArraySlice<String>) throws(UsageFailure) {
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let key = arguments[index]
            guard key.hasPrefix("--"), index + 1 < arguments.endIndex else { throw UsageFailure("bad option " + key) }
            values.append((key, arguments[index + 1]))
            index += 2
        }
    }

    func all(_ key: String) -> [String] { values.filter { $0.0 == key }.map { $0.1 } }
    func string(_ key: String) -> String? { all(key).last }

    func int(_ key: String, _ fallback: Int) throws(UsageFailure) -> Int {
        guard let text = string(key) else { return fallback }
        guard let value = Int(text) else { throw UsageFailure("not a number: " + key + " " + text) }
        return value
    }
}

struct UsageFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

func fail(_ message: String) -> Never {
    printErrorLine("bus-testpub: " + message)
    exit(2)
}

func runRLE() {
    var line: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    var input: [UInt8] = []
    while true {
        let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 && edge_errno() == EINTR { continue }
        if n <= 0 { break }
        input.append(contentsOf: buffer[0..<n])
    }
    for raw in input.split(separator: 0x0A) {
        line = Array(raw)
        let fields = line.split(separator: 0x20)
        guard fields.count == 3 || fields.count == 2,
              let h = Int(String(decoding: fields[0], as: UTF8.self)),
              let w = Int(String(decoding: fields[1], as: UTF8.self)) else { fail("bad rle line") }
        let bits = fields.count == 3 ? Array(fields[2]) : []
        let mask = bits.map { $0 == 0x31 ? UInt8(1) : 0 }
        do throws(RLEError) {
            printLine(try COCORLE.encodeString(mask: mask, height: h, width: w))
        } catch {
            fail("rle: invalid mask " + String(h) + "x" + String(w))
        }
    }
}

func runJSON(_ options: Options) throws(UsageFailure) {
    var factory = SampleFactory(rng: SplitMix(state: UInt64(try options.int("--seed", 1))))
    factory.maxSide = try options.int("--max-side", 48)
    let buffer = MessageBuffer(capacity: 1 << 20)
    let count = try options.int("--count", 100)
    var frame: UInt64 = 0
    while frame < UInt64(count) {
        do throws(RLEError) {
            var message = try factory.message(frameID: frame)
            message.seq = frame
            message.bootID = "json-seed"
            do throws(BusError) {
                try WireEncoder.encode(message, into: buffer)
            } catch {
                fail(error.description)
            }
            printLine(buffer.text)
        } catch {
            fail("rle failed")
        }
        frame += 1
    }
}

func runBenchEncode(_ options: Options) throws(UsageFailure) {
    let count = try options.int("--count", 1000)
    let instances = try options.int("--instances", 3)
    let side = try options.int("--side", 480)
    var factory = SampleFactory(rng: SplitMix(state: 5))
    var message = DetectionMessage(camera: "cam0", imageWidth: side, imageHeight: side, modelID: factory.modelID)
    var index = 0
    while index < instances {
        let mask = factory.mask(height: side, width: side)
        var instance = DetectedInstance(id: index + 1, score: 0.5)
        factory.describe(mask, height: side, width: side, into: &instance)
        do throws(RLEError) {
            instance.mask = WireMask(height: side, width: side, counts: try COCORLE.encode(mask: mask, height: side, width: side))
        } catch {
            fail("rle failed")
        }
        message.instances.append(instance)
        index += 1
    }
    let buffer = MessageBuffer(capacity: 64 << 20)
    let start = edge_monotonic_ns()
    var n = 0
    do throws(BusError) {
        while n < count {
            message.seq = UInt64(n)
            try WireEncoder.encode(message, into: buffer)
            n += 1
        }
    } catch {
        fail(error.description)
    }
    let elapsed = edge_monotonic_ns() - start
    printLine("encoded=" + String(n) + " bytes=" + String(buffer.count) + " ns_per_message="
              + String(count > 0 ? elapsed / UInt64(count) : 0))
}

func runKeygen(_ options: Options) {
    guard let publicPath = options.string("--public"), let secretPath = options.string("--secret") else {
        fail("keygen needs --public and --secret")
    }
    do throws(BusError) {
        let pair = try writeCurveKeyPair(publicPath: publicPath, secretPath: secretPath)
        printLine(pair.publicKey.z85)
    } catch {
        fail(error.description)
    }
}

/// True when stdin has a line (or EOF) within `milliseconds`.
func stdinReady(milliseconds: Int32) -> Bool {
    var item = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
    return poll(&item, 1, milliseconds) > 0
}

func runPublish(_ options: Options) throws(UsageFailure) {
    let endpoints = options.all("--endpoint")
    guard !endpoints.isEmpty else { throw UsageFailure("publish needs --endpoint") }
    var security = BusSecurity.plaintext
    if let secret = options.string("--curve-secret") {
        guard let allow = options.string("--allow") else { throw UsageFailure("--curve-secret needs --allow") }
        do throws(BusError) {
            security = try BusSecurity.curve(secretKeyPath: secret, allowListPath: allow)
        } catch {
            fail(error.description)
        }
    }
    var config = PublisherConfig(endpoints: endpoints, security: security, bootID: "testpub-" + String(getpid()))
    config.sendHighWaterMark = Int32(try options.int("--hwm", 1000))
    config.lingerMilliseconds = Int32(try options.int("--linger-ms", 100))
    if let mode = options.string("--ipc-mode") {
        guard let value = UInt32(mode, radix: 8) else { throw UsageFailure("bad --ipc-mode") }
        config.ipcMode = value
    }
    var factory = SampleFactory(rng: SplitMix(state: UInt64(try options.int("--seed", 1))))
    factory.camera = options.string("--camera") ?? "cam0"
    let count = try options.int("--count", 100)
    let intervalMicros = try options.int("--interval-us", 0)
    let pad = try options.int("--pad-bytes", 0)
    if pad > 0 { factory.modelID += String(repeating: "-", count: pad) }

    do throws(BusError) {
        let publisher = try Publisher(config: config)
        for endpoint in publisher.boundEndpoints { printLine("bound " + endpoint) }
        publisher.setMeta(MetaMessage(modelID: factory.modelID, modelName: "dualsam-lite", modelVersion: "test",
                                      modelHash: "0", inputWidth: 352, inputHeight: 352,
                                      labels: [LabelEntry(id: 0, name: "marine_animal")],
                                      runtimeVersion: BuildInfo.version))
        // Meta every 20 ms until the test says go: subscribers see it once connected (slow joiner).
        while !stdinReady(milliseconds: 20) {
            publisher.setMeta(MetaMessage(modelID: factory.modelID, runtimeVersion: BuildInfo.version))
            try publisher.publishMetaIfDue(nowMonotonicNs: edge_monotonic_ns())
        }
        let start = edge_monotonic_ns()
        var slowest: UInt64 = 0
        var frame: UInt64 = 0
        while frame < UInt64(count) {
            var message: DetectionMessage
            do throws(RLEError) {
                message = try factory.message(frameID: frame)
            } catch {
                fail("rle failed")
            }
            message.captureMonotonicNs = edge_monotonic_ns()
            let t0 = edge_monotonic_ns()
            try publisher.publish(&message)
            slowest = max(slowest, edge_monotonic_ns() - t0)
            frame += 1
            if intervalMicros > 0 { _ = usleep(UInt32(intervalMicros)) }
        }
        var health = HealthMessage(framesProcessed: frame)
        try publisher.publish(&health)
        let elapsed = edge_monotonic_ns() - start
        printLine("done sent=" + String(publisher.stats.sent) + " dropped=" + String(publisher.stats.dropped)
                  + " elapsed_us=" + String(elapsed / 1000) + " max_publish_us=" + String(slowest / 1000))
        let closeStart = edge_monotonic_ns()
        publisher.close()
        printLine("closed close_us=" + String((edge_monotonic_ns() - closeStart) / 1000))
    } catch {
        fail(error.description)
    }
}

let arguments = processArguments()
guard let command = arguments.first else {
    printLine(usage)
    exit(2)
}
do throws(UsageFailure) {
    let options = try Options(arguments.dropFirst())
    switch command {
    case "rle": runRLE()
    case "json": try runJSON(options)
    case "keygen": runKeygen(options)
    case "bench-encode": try runBenchEncode(options)
    case "publish": try runPublish(options)
    default:
        printLine(usage)
        exit(2)
    }
} catch {
    fail(error.message)
}
exit(0)
