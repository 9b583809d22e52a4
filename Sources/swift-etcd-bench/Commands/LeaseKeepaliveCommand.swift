import ArgumentParser
import EtcdAPI
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

/// `lease-keepalive`: each client grants one lease, then sends keep-alives
/// on one LeaseKeepAlive stream, one at a time, timing each round trip.
/// Keep-alives are what every Kubernetes node and lock holder sends all day.
struct LeaseKeepaliveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease-keepalive", abstract: "Benchmark lease keep-alive round trips.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "TTL in seconds of the lease each client grants.")
    var ttl: Int64 = 60

    func validate() throws {
        guard ttl >= 1 else { throw ValidationError("--ttl must be at least 1") }
    }

    func run() async throws {
        let session = BenchSession(options: global)
        let call = session.callOptions
        // The stream lives for the whole run; this bounds it should a
        // response never come.
        let streamCall: CallOptions = {
            var call = CallOptions.defaults
            call.timeout = global.deadlineDuration + global.requestTimeoutDuration
            return call
        }()
        let ttl = ttl
        let requestTimeout = global.requestTimeoutDuration
        try await session.run("lease-keepalive") { pool, runner in
            await runner.run { client, budget in
                let lease = Etcdserverpb_Lease.Client(wrapping: pool.client(for: client))
                var stats = LatencyStats()
                let id: Int64
                do {
                    id = try await lease.leaseGrant(.with { $0.ttl = ttl }, options: call).id
                } catch {
                    // Without a lease this client has nothing to keep alive;
                    // the others take its share of the budget.
                    stats.recordFailure(label: "grant: \(ErrorLabel.of(error))")
                    return stats
                }
                return await KeepAliveLoop(lease: lease, id: id, options: streamCall, requestTimeout: requestTimeout)
                    .run(budget: budget, stats: stats)
            }
        }
    }
}

/// Ping-pong on one keep-alive stream: the request side is fed from an
/// AsyncStream, so each request is written only after the previous
/// response has arrived (the response handler owns the loop). The first
/// request is queued before the call starts because a Go gRPC server sends
/// its response headers only with the first response. A watchdog cancels
/// the stream when no response comes within the request timeout.
struct KeepAliveLoop: Sendable {
    let lease: Etcdserverpb_Lease.Client<HTTP2ClientTransport.Posix>
    let id: Int64
    let options: CallOptions
    let requestTimeout: Duration

    struct StreamEnded: Error {}

    func run(budget: RequestBudget, stats initial: LatencyStats) async -> LatencyStats {
        let progress = Heartbeat()
        return await withTaskGroup(of: LatencyStats?.self) { group in
            group.addTask { await pingPong(budget: budget, stats: initial, progress: progress) }
            group.addTask {
                // Returns nil only when the stream stalls.
                while !Task.isCancelled {
                    try? await Task.sleep(for: requestTimeout / 4)
                    if progress.stalled(longerThan: requestTimeout) { return nil }
                }
                return LatencyStats()
            }
            var stats: LatencyStats?
            var timedOut = false
            while let finished = await group.next() {
                group.cancelAll()
                if let finished { stats = stats.map { var merged = $0; merged.merge(finished); return merged } ?? finished }
                else { timedOut = true }
            }
            var result = stats ?? initial
            if timedOut { result.recordFailure(label: "keep-alive: no response within the request timeout") }
            return result
        }
    }

    private func pingPong(budget: RequestBudget, stats initial: LatencyStats, progress: Heartbeat) async -> LatencyStats {
        guard budget.claim() != nil else { return initial }
        let (requests, sender) = AsyncStream<Etcdserverpb_LeaseKeepAliveRequest>.makeStream()
        let keepAlive = Etcdserverpb_LeaseKeepAliveRequest.with { $0.id = id }
        let firstSent = ContinuousClock.now
        progress.beat()
        sender.yield(keepAlive)
        do {
            return try await lease.leaseKeepAlive(options: options) { writer in
                for await request in requests { try await writer.write(request) }
            } onResponse: { response in
                defer { sender.finish() }
                var stats = initial
                var responses = response.messages.makeAsyncIterator()
                var sent = firstSent
                while true {
                    do {
                        guard let answer = try await responses.next() else { throw StreamEnded() }
                        progress.beat()
                        if answer.ttl <= 0 {
                            stats.recordFailure(label: "lease not found")
                        } else {
                            stats.record(sent.duration(to: .now))
                        }
                    } catch {
                        stats.recordFailure(error)
                        return stats
                    }
                    guard budget.claim() != nil else { return stats }
                    sent = .now
                    sender.yield(keepAlive)
                }
            }
        } catch {
            var stats = initial
            stats.recordFailure(label: "stream: \(ErrorLabel.of(error))")
            return stats
        }
    }
}

/// The time of the last sign of life of a stream, for a watchdog.
final class Heartbeat: Sendable {
    private let epoch = ContinuousClock.now
    private let lastNanos = Atomic<Int>(0)

    func beat() {
        lastNanos.store(Int(clamping: epoch.duration(to: .now).nanoseconds), ordering: .relaxed)
    }

    func stalled(longerThan limit: Duration) -> Bool {
        let last = Duration.nanoseconds(lastNanos.load(ordering: .relaxed))
        return epoch.duration(to: .now) - last > limit
    }
}
