/// Runs `clients` concurrent closed-loop clients: each sends its next
/// request only when the previous one has answered, which is how etcd's
/// tool loads a server, so requests/s and latency are two views of one run.
struct LoadRunner: Sendable {
    let clients: Int
    let total: Int
    let deadline: Duration

    struct Outcome: Sendable {
        let stats: LatencyStats
        let elapsed: Duration
    }

    /// Each client runs `body` with its index and the shared budget and
    /// returns what it measured; for clients that hold a stream open
    /// (lease keep-alive) rather than sending unary calls.
    func run(_ body: @escaping @Sendable (_ client: Int, _ budget: RequestBudget) async -> LatencyStats) async -> Outcome {
        let budget = RequestBudget(total: total, deadline: deadline)
        let start = ContinuousClock.now
        let stats = await withTaskGroup(of: LatencyStats.self) { group in
            for client in 0..<clients {
                group.addTask { await body(client, budget) }
            }
            var merged = LatencyStats()
            for await stats in group { merged.merge(stats) }
            return merged
        }
        return Outcome(stats: stats, elapsed: start.duration(to: .now))
    }

    /// Unary requests: `operation(client, request)` is timed; a thrown error
    /// is counted by kind and the client goes on with its next request.
    func runUnary(_ operation: @escaping @Sendable (_ client: Int, _ request: Int) async throws -> Void) async -> Outcome {
        await run { client, budget in
            var stats = LatencyStats()
            while let request = budget.claim() {
                let begin = ContinuousClock.now
                do {
                    try await operation(client, request)
                    stats.record(begin.duration(to: .now))
                } catch {
                    stats.recordFailure(error)
                }
            }
            return stats
        }
    }
}
