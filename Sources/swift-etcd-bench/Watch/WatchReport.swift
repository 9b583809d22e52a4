import Foundation

/// What the watch fan-out benchmark measured.
struct WatchReport: Encodable, Sendable {
    let benchmark = "watch"
    let endpoints: String
    let conns: Int
    let streams: Int
    let watchers: Int
    let watchersCreated: Int
    let createSeconds: Double
    let rssBeforeKb: Int?
    let rssAfterKb: Int?
    /// Server RSS growth per watcher created (streams included).
    let bytesPerWatcher: Double?
    let puts: Int
    let putsFailed: Int
    let putErrors: [String: Int]
    let putsPerSecond: Double
    let putLatency: LatencySummary
    let eventsExpected: Int
    let eventsReceived: Int
    let eventsUnstamped: Int
    /// From the first put sent to the last event received.
    let deliverySeconds: Double
    let eventsPerSecond: Double
    let deliveryLatency: LatencySummary
    let watchersCanceled: Int
    let streamErrors: [String: Int]
    let clientCPUSeconds: Double
    /// Server CPU from the end of creation to the end of the drain.
    let serverCPUSeconds: Double?
    let serverRSSKbAtEnd: Int?

    init(options: GlobalOptions, endpoints: [ServerAddress], plan: WatchPlan,
         created: Int, createSeconds: Double, rssBeforeKb: Int?, rssAfterKb: Int?,
         puts: LoadRunner.Outcome, expected: Int, streams outcomes: [StreamOutcome],
         deliverySeconds: Double, clientCPUSeconds: Double, serverCPUSeconds: Double?, serverRSSKbAtEnd: Int?) {
        self.endpoints = endpoints.map(\.description).joined(separator: ",")
        conns = options.conns
        streams = plan.streams
        watchers = plan.watchers
        watchersCreated = created
        self.createSeconds = createSeconds
        self.rssBeforeKb = rssBeforeKb
        self.rssAfterKb = rssAfterKb
        if let rssBeforeKb, let rssAfterKb, created > 0 {
            bytesPerWatcher = Double(rssAfterKb - rssBeforeKb) * 1024 / Double(created)
        } else {
            bytesPerWatcher = nil
        }
        self.puts = puts.stats.successes
        putsFailed = puts.stats.failures
        putErrors = puts.stats.errors
        let putSeconds = puts.elapsed.seconds
        putsPerSecond = putSeconds > 0 ? Double(puts.stats.successes) / putSeconds : 0
        putLatency = puts.stats.summary
        eventsExpected = expected
        var delivery = LatencyStats()
        var errors: [String: Int] = [:]
        var received = 0, unstamped = 0, canceled = 0
        for outcome in outcomes {
            delivery.merge(outcome.delivery)
            received += outcome.events
            unstamped += outcome.unstamped
            canceled += outcome.canceled
            if let error = outcome.error { errors[error, default: 0] += 1 }
        }
        eventsReceived = received
        eventsUnstamped = unstamped
        watchersCanceled = canceled
        streamErrors = errors
        self.deliverySeconds = deliverySeconds
        eventsPerSecond = deliverySeconds > 0 ? Double(received) / deliverySeconds : 0
        deliveryLatency = delivery.summary
        self.clientCPUSeconds = clientCPUSeconds
        self.serverCPUSeconds = serverCPUSeconds
        self.serverRSSKbAtEnd = serverRSSKbAtEnd
    }

    var text: String {
        func mib(_ kib: Int?) -> String { kib.map { String(format: "%.1f MiB", Double($0) / 1024) } ?? "n/a" }
        var lines = [
            "watch: \(watchers) watchers on \(streams) streams over \(conns) conns to \(endpoints)",
            String(format: "  created      %d in %.3f s", watchersCreated, createSeconds),
            "  server rss   before \(mib(rssBeforeKb)), after \(mib(rssAfterKb))"
                + (bytesPerWatcher.map { String(format: " → %.0f bytes/watcher", $0) } ?? ""),
            String(format: "  puts         %d ok, %d failed, %.1f/s", puts, putsFailed, putsPerSecond),
            "  put ms       \(putLatency.text)",
            String(format: "  events       %d of %d in %.3f s → %.0f events/s", eventsReceived, eventsExpected,
                   deliverySeconds, eventsPerSecond),
            "  delivery ms  \(deliveryLatency.text)",
            String(format: "  cpu          client %.2f s", clientCPUSeconds)
                + (serverCPUSeconds.map { String(format: ", server %.2f s (writes and delivery)", $0) } ?? ""),
        ]
        if watchersCanceled > 0 { lines.append("  canceled     \(watchersCanceled) watchers") }
        if eventsUnstamped > 0 { lines.append("  unstamped    \(eventsUnstamped) events") }
        for (label, count) in putErrors.sorted(by: { $0.value > $1.value }) {
            lines.append("  put error    \(count) × \(label)")
        }
        for (label, count) in streamErrors.sorted(by: { $0.value > $1.value }) {
            lines.append("  stream error \(count) × \(label)")
        }
        return lines.joined(separator: "\n")
    }
}
