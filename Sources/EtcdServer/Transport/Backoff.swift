import NIOCore
import Raft

/// Reconnect delays: exponential from `initial` up to `maximum`, each drawn with "equal jitter"
/// (uniformly from the upper half of the current step) so that members that lost each other
/// at the same moment do not redial in lockstep. The randomness comes from an injected seed,
/// which keeps a test's timing reproducible.
struct Backoff: Sendable {
    let initial: TimeAmount
    let maximum: TimeAmount
    private var step: TimeAmount
    private var random: SplitMix64

    init(initial: TimeAmount, maximum: TimeAmount, seed: UInt64) {
        let initial = max(initial, .nanoseconds(1))
        self.initial = initial
        self.maximum = max(maximum, initial)
        self.step = initial
        self.random = SplitMix64(seed: seed)
    }

    /// The delay before the next attempt; each call doubles the following one, up to `maximum`.
    mutating func nextDelay() -> TimeAmount {
        let current = step.nanoseconds
        step = .nanoseconds(min(maximum.nanoseconds, current.multipliedReportingOverflow(by: 2).partialValue))
        if step.nanoseconds < current { step = maximum }  // overflowed: pin to the cap
        let half = current / 2
        let jitter = Int64(random.next(below: UInt64(current - half) + 1))
        return .nanoseconds(half + jitter)
    }

    /// After a successful handshake the next failure starts again from `initial`.
    mutating func reset() { step = initial }
}
