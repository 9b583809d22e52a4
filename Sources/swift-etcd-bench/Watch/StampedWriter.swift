import EtcdAPI
import Foundation
import GRPCCore

/// The writers of the watch benchmark: `clients` closed-loop put clients,
/// optionally paced to `putRate` in all, each value stamped with its send
/// time. Pacing waits happen before the clock starts, so put latency is the
/// server's alone.
struct StampedWriter: Sendable {
    let generator: KeyGenerator
    let singleKey: Bool
    let valSize: Int
    let putRate: Double
    let clients: Int
    let call: CallOptions

    func run(pool: ConnectionPool, total: Int, deadline: Duration, epoch: ContinuousClock.Instant) async -> LoadRunner.Outcome {
        let runner = LoadRunner(clients: clients, total: total, deadline: deadline)
        let start = ContinuousClock.now
        let interval = putRate > 0 ? Duration.nanoseconds(Int64(1e9 / putRate)) : nil
        let writer = self
        return await runner.run { client, budget in
            let kv = Etcdserverpb_KV.Client(wrapping: pool.client(for: client))
            var stats = LatencyStats()
            while let request = budget.claim() {
                if let interval {
                    try? await Task.sleep(until: start + interval * request, clock: .continuous)
                }
                let begin = ContinuousClock.now
                let put = Etcdserverpb_PutRequest.with {
                    $0.key = writer.singleKey ? writer.generator.key(at: 0) : writer.generator.key(forRequest: request)
                    $0.value = DeliveryStamp.value(sentAt: epoch.duration(to: begin), size: writer.valSize)
                }
                do {
                    _ = try await kv.put(put, options: writer.call)
                    stats.record(begin.duration(to: .now))
                } catch {
                    stats.recordFailure(error)
                }
            }
            return stats
        }
    }
}
