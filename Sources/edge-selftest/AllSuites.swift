/// Every suite of edge-selftest. A new file of tests defines `func register<Name>Tests(_ registry: inout TestRegistry)`
/// and adds it to this list; scripts/suites/70-cross fails when a register function is missing from this list
/// (Embedded Swift has no reflection, so tests cannot be discovered at run time).
func allSuites() -> [(inout TestRegistry) -> Void] {
    [
        registerToolchainTests,
        registerEdgeRuntimeTests,
        registerLiteModelTests,
        registerQGemmKernelTests,
        registerBusTests,
        registerDaemonCoreTests,
        registerKernelTests,
        registerDirectConvTests,
        registerGoldenTests,
    ]
}
