import ArgumentParser

/// The shape of the keys and values a writing benchmark sends; etcd's
/// defaults (8-byte keys and values, one key) so that runs without flags
/// compare with etcd's own tool.
struct KeyOptions: ParsableArguments {
    @Option(help: "Bytes per key.")
    var keySize: Int = 8

    @Option(help: "Bytes per value.")
    var valSize: Int = 8

    @Option(help: "Distinct keys to write; requests pick one at random unless --sequential-keys.")
    var keySpaceSize: Int = 1

    @Flag(help: "Write keys in order, 0, 1, 2, … modulo --key-space-size, instead of at random.")
    var sequentialKeys = false

    func validate() throws {
        guard keySize >= 1, valSize >= 0 else { throw ValidationError("--key-size must be at least 1, --val-size at least 0") }
        guard keySpaceSize >= 1 else { throw ValidationError("--key-space-size must be at least 1") }
        guard String(keySpaceSize - 1).utf8.count <= keySize else {
            throw ValidationError("--key-size \(keySize) is too short for \(keySpaceSize) distinct keys")
        }
    }

    func makeGenerator() -> KeyGenerator {
        KeyGenerator(keySize: keySize, keySpaceSize: keySpaceSize, sequential: sequentialKeys)
    }
}
