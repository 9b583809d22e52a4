import Synchronization

/// The `--total` requests, handed out one number at a time to whichever
/// client is free, so fast clients do more and the run ends when the
/// budget or the deadline is spent, never by a fixed per-client share.
final class RequestBudget: Sendable {
    let total: Int
    let stopAt: ContinuousClock.Instant
    private let claimed = Atomic<Int>(0)

    init(total: Int, deadline: Duration) {
        self.total = total
        self.stopAt = .now + deadline
    }

    /// The next request number, or nil once all are claimed, the deadline
    /// has passed, or the task is cancelled.
    func claim() -> Int? {
        guard !Task.isCancelled, ContinuousClock.now < stopAt else { return nil }
        let number = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
        return number < total ? number : nil
    }
}
