/// Linearizable reads in flight (Raft's ReadIndex), batched as etcd does:
/// reads that arrive while no ReadIndex request is being made wait in a
/// queue, and one request (one heartbeat round) then serves all of them.
/// Each batch waits first for the leader to confirm its read index, then
/// for this member to apply up to it. Batches are keyed by the request
/// context sent with `readIndex`.
struct PendingReads: Sendable {
    struct Waiter: Sendable {
        var continuation: CheckedContinuation<Void, any Error>
        var deadline: ContinuousClock.Instant
    }

    private struct Round: Sendable {
        var waiters: [Waiter]
        var index: UInt64?
    }

    /// Reads not yet covered by a ReadIndex request.
    private var queued: [Waiter] = []
    private var rounds: [[UInt8]: Round] = [:]

    var isEmpty: Bool { queued.isEmpty && rounds.isEmpty }

    /// Whether reads wait for a ReadIndex request to be made.
    var hasQueued: Bool { !queued.isEmpty }

    mutating func enqueue(_ waiter: Waiter) {
        queued.append(waiter)
    }

    /// The queued reads are now served by the ReadIndex request sent with `context`.
    mutating func startRound(context: [UInt8]) {
        guard !queued.isEmpty else { return }
        rounds[context] = Round(waiters: queued)
        queued = []
    }

    /// Removes and returns the queued reads (their request could not be made).
    mutating func takeQueued() -> [CheckedContinuation<Void, any Error>] {
        defer { queued = [] }
        return queued.map(\.continuation)
    }

    /// Records the read index the leader confirmed for `context`.
    mutating func confirm(_ context: [UInt8], index: UInt64) {
        rounds[context]?.index = index
    }

    /// Removes and returns every read whose index is applied.
    mutating func takeReady(applied: UInt64) -> [CheckedContinuation<Void, any Error>] {
        var ready: [CheckedContinuation<Void, any Error>] = []
        for (context, round) in rounds where (round.index ?? .max) <= applied {
            ready.append(contentsOf: round.waiters.map(\.continuation))
            rounds.removeValue(forKey: context)
        }
        return ready
    }

    /// Removes and returns every read past its deadline.
    mutating func takeExpired(now: ContinuousClock.Instant) -> [CheckedContinuation<Void, any Error>] {
        var expired = queued.filter { $0.deadline <= now }.map(\.continuation)
        queued.removeAll { $0.deadline <= now }
        for (context, round) in rounds where round.waiters.contains(where: { $0.deadline <= now }) {
            expired.append(contentsOf: round.waiters.filter { $0.deadline <= now }.map(\.continuation))
            let left = round.waiters.filter { $0.deadline > now }
            if left.isEmpty {
                rounds.removeValue(forKey: context)
            } else {
                rounds[context]?.waiters = left
            }
        }
        return expired
    }
}

/// A proposer waiting for its entry to be applied.
struct PendingProposal: Sendable {
    var continuation: CheckedContinuation<ApplyResult, Never>
    var deadline: ContinuousClock.Instant
}
