import Synchronization

/// Counters the watch streams bump as responses arrive and the main task
/// polls to move from phase to phase (created → writing → drained).
final class FanOutProgress: Sendable {
    private let created = Atomic<Int>(0)
    private let events = Atomic<Int>(0)
    private let streamsEnded = Atomic<Int>(0)
    /// Arrival of the latest event, nanoseconds since the run's epoch.
    private let lastEventNanos = Atomic<Int>(0)

    var createdCount: Int { created.load(ordering: .relaxed) }
    var eventCount: Int { events.load(ordering: .relaxed) }
    var endedStreams: Int { streamsEnded.load(ordering: .relaxed) }
    var lastEvent: Duration { .nanoseconds(lastEventNanos.load(ordering: .relaxed)) }

    func watcherCreated() { created.wrappingAdd(1, ordering: .relaxed) }
    func streamEnded() { streamsEnded.wrappingAdd(1, ordering: .relaxed) }

    func eventsArrived(_ count: Int, at offset: Duration) {
        events.wrappingAdd(count, ordering: .relaxed)
        let nanos = Int(clamping: offset.nanoseconds)
        var seen = lastEventNanos.load(ordering: .relaxed)
        while nanos > seen {
            let (exchanged, original) = lastEventNanos.compareExchange(
                expected: seen, desired: nanos, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    /// Polls `condition` every few milliseconds until it holds or `stopAt`
    /// passes; returns whether it held. Polling costs a little precision at
    /// phase edges and nothing on the hot path.
    func wait(until stopAt: ContinuousClock.Instant, _ condition: (FanOutProgress) -> Bool) async -> Bool {
        while !condition(self) {
            guard ContinuousClock.now < stopAt, !Task.isCancelled else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}

/// What each stream saw, handed in when its response handler ends,
/// whatever way it ends.
final class StreamResults: Sendable {
    private let results = Mutex<[StreamOutcome]>([])

    func add(_ outcome: StreamOutcome) {
        results.withLock { $0.append(outcome) }
    }

    var all: [StreamOutcome] { results.withLock { $0 } }
}

struct StreamOutcome: Sendable {
    var created = 0
    var canceled = 0
    var events = 0
    /// Events whose value held no send time (not written by this run).
    var unstamped = 0
    var delivery = LatencyStats()
    var error: String?
}
