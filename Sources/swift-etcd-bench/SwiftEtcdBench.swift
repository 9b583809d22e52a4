import ArgumentParser

/// A load generator for any etcd v3 server, speaking etcd's `benchmark`
/// vocabulary so that etcd and swift-etcd are measured by the same client in
/// the same run (issue 7). It uses only the public gRPC API, never
/// swift-etcd internals, so a number it prints means the same for both.
@main
struct SwiftEtcdBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-etcd-bench",
        abstract: "Benchmark an etcd v3 server (etcd or swift-etcd) over gRPC.",
        subcommands: [
            PutCommand.self, RangeCommand.self, TxnPutCommand.self,
            WatchCommand.self, LeaseKeepaliveCommand.self,
        ]
    )

    /// Declared here too so that global options may come before the
    /// subcommand's name, as with etcd's tool (`--endpoints=… put`).
    @OptionGroup var global: GlobalOptions
}
