import Synchronization

/// Where the lessor reads time: a monotonic instant, as the time elapsed
/// since some fixed origin. Injected so that expiry can be tested without
/// sleeping and so that nothing in the store reads an ambient clock.
public protocol LeaseClock: Sendable {
    var now: Duration { get }
}

/// The real clock: monotonic time since the clock was created.
public struct MonotonicLeaseClock: LeaseClock {
    private let origin: ContinuousClock.Instant

    public init() {
        origin = ContinuousClock.now
    }

    public var now: Duration { ContinuousClock.now - origin }
}

/// A clock that only moves when told to, for tests. A reference type, so
/// the test keeps advancing the same clock the lessor reads.
public final class ManualLeaseClock: LeaseClock {
    private let current: Mutex<Duration>

    public init(now: Duration = .zero) {
        current = Mutex(now)
    }

    public var now: Duration { current.withLock { $0 } }

    public func advance(by step: Duration) {
        current.withLock { $0 += step }
    }
}
