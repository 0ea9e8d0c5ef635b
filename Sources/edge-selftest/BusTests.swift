import Bus

/// Bus on the target (the wire format must not depend on the architecture).
func registerBusTests(_ registry: inout TestRegistry) {
    registry.add("Bus/wire schema version is 1.x") { t in
        t.expectEqual(WireSchema.major, 1, "WireSchema.major:")
        t.expect(WireSchema.minor >= 0, "WireSchema.minor is negative")
    }
}
