import LiteModel

/// LiteModel on the target. The engine adds its golden tests (fixtures under Tests/Fixtures) and kernel
/// reference tests in files of their own; see cross/README.md.
func registerLiteModelTests(_ registry: inout TestRegistry) {
    registry.add("LiteModel/model format major version is 1") { t in
        t.expectEqual(ModelFormat.major, 1, "ModelFormat.major:")
    }
}
