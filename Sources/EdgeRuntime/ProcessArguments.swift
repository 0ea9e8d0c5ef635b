import CEdgeShim

/// The command-line arguments after the program name (Embedded Swift has no `CommandLine`).
public func processArguments() -> [String] {
    var arguments: [String] = []
    guard let argv = edge_argv() else { return arguments }
    var index = 1
    while index < Int(edge_argc()) {
        if let pointer = argv[index] {
            arguments.append(String(cString: pointer))
        }
        index += 1
    }
    return arguments
}
