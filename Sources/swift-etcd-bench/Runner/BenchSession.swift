import GRPCCore

/// What every request benchmark does around its own request: pick the
/// endpoints (the leader alone with `--target-leader`), open the pool,
/// measure resources, run the load, print the report.
struct BenchSession {
    let options: GlobalOptions

    /// Call options for one request: `--request-timeout` bounds it.
    var callOptions: CallOptions {
        var call = CallOptions.defaults
        call.timeout = options.requestTimeoutDuration
        return call
    }

    func targets() async throws -> [ServerAddress] {
        let all = try options.parsedEndpoints()
        guard options.targetLeader else { return all }
        return [try await LeaderFinder.leader(among: all, timeout: options.requestTimeoutDuration)]
    }

    /// Runs `operation` for every request number and prints the report.
    func runUnary(
        _ benchmark: String,
        _ operation: @escaping @Sendable (_ client: EtcdClient, _ call: CallOptions, _ request: Int) async throws -> Void
    ) async throws {
        try await run(benchmark) { pool, runner in
            let call = callOptions
            return await runner.runUnary { client, request in
                try await operation(pool.client(for: client), call, request)
            }
        }
    }

    /// The general form, for benchmarks that drive the runner themselves.
    func run(
        _ benchmark: String,
        _ load: (ConnectionPool, LoadRunner) async throws -> LoadRunner.Outcome
    ) async throws {
        let endpoints = try await targets()
        let runner = LoadRunner(clients: options.clients, total: options.total, deadline: options.deadlineDuration)
        let meter = ResourceMeter(pids: try options.parsedServerPIDs())
        let outcome = try await ConnectionPool.with(addresses: endpoints, conns: options.conns) { pool in
            try await load(pool, runner)
        }
        let report = BenchReport(benchmark: benchmark, options: options, endpoints: endpoints,
                                 outcome: outcome, resources: meter.finish())
        ReportPrinter.print(report, text: report.text, format: options.writeOut)
    }
}
