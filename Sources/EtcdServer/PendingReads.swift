/// Linearizable reads in flight (Raft's ReadIndex): each waits first for
/// the leader to confirm a read index, then for this member to apply up to
/// it. Reads are keyed by the request context sent with `readIndex`.
struct PendingReads: Sendable {
    struct Waiter: Sendable {
        var continuation: CheckedContinuation<Void, any Error>
        var deadline: ContinuousClock.Instant
        var index: UInt64?
    }

    private var waiters: [[UInt8]: Waiter] = [:]

    var isEmpty: Bool { waiters.isEmpty }

    mutating func add(_ context: [UInt8], _ waiter: Waiter) {
        waiters[context] = waiter
    }

    /// Records the read index the leader confirmed for `context`.
    mutating func confirm(_ context: [UInt8], index: UInt64) {
        waiters[context]?.index = index
    }

    /// Removes and returns every read whose index is applied.
    mutating func takeReady(applied: UInt64) -> [CheckedContinuation<Void, any Error>] {
        let ready = waiters.filter { ($0.value.index ?? .max) <= applied }
        for key in ready.keys { waiters.removeValue(forKey: key) }
        return ready.values.map(\.continuation)
    }

    /// Removes and returns every read past its deadline.
    mutating func takeExpired(now: ContinuousClock.Instant) -> [CheckedContinuation<Void, any Error>] {
        let expired = waiters.filter { $0.value.deadline <= now }
        for key in expired.keys { waiters.removeValue(forKey: key) }
        return expired.values.map(\.continuation)
    }
}

/// A proposer waiting for its entry to be applied.
struct PendingProposal: Sendable {
    var continuation: CheckedContinuation<ApplyResult, Never>
    var deadline: ContinuousClock.Instant
}
