import ArgumentParser

/// Options every subcommand shares: where to connect, how much load, how to
/// report. Names follow etcd's `benchmark` tool.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Comma-separated gRPC endpoints, host:port (an http:// prefix is accepted).")
    var endpoints: String = "127.0.0.1:2379"

    @Option(help: "gRPC connections to open; clients are spread over them round-robin.")
    var conns: Int = 1

    @Option(help: "Concurrent clients, each issuing one request at a time.")
    var clients: Int = 1

    @Option(help: "Requests to send in all.")
    var total: Int = 10_000

    @Flag(help: "Send every request to the leader, found with Maintenance.Status.")
    var targetLeader = false

    @Option(name: [.customShort("w"), .customLong("write-out")], help: "Output: simple or json (one line).")
    var writeOut: OutputFormat = .simple

    @Option(help: "Seconds before one request is abandoned and counted as an error.")
    var requestTimeout: Double = 10

    @Option(help: "Seconds the whole run may take; no request starts after it.")
    var deadline: Double = 600

    @Option(help: "Comma-separated PIDs of the server processes, to report their CPU time and RSS from /proc.")
    var serverPids: String?

    func validate() throws {
        guard conns >= 1, clients >= 1 else { throw ValidationError("--conns and --clients must be at least 1") }
        guard total >= 1 else { throw ValidationError("--total must be at least 1") }
        guard requestTimeout > 0, deadline > 0 else {
            throw ValidationError("--request-timeout and --deadline must be positive")
        }
        _ = try parsedEndpoints()
        _ = try parsedServerPIDs()
    }

    func parsedEndpoints() throws -> [ServerAddress] {
        let parts = endpoints.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw ValidationError("--endpoints is empty") }
        return try parts.map { try ServerAddress(parsing: $0) }
    }

    func parsedServerPIDs() throws -> [Int32] {
        guard let serverPids else { return [] }
        return try serverPids.split(separator: ",").map { text in
            guard let pid = Int32(text.trimmingWhitespace()), pid > 0 else {
                throw ValidationError("--server-pids: '\(text)' is not a process ID")
            }
            return pid
        }
    }

    var requestTimeoutDuration: Duration { .milliseconds(Int64(requestTimeout * 1000)) }
    var deadlineDuration: Duration { .milliseconds(Int64(deadline * 1000)) }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case simple, json
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
