import EtcdAPI
import GRPCCore

/// The watch benchmark's three phases on an open pool: create every watcher
/// (and read the server's RSS before and after), write while the streams
/// count deliveries, then drain until every expected event has arrived, the
/// deadline passes, or deliveries stall for `--request-timeout`.
struct WatchFanOut {
    let plan: WatchPlan
    let writer: StampedWriter
    let options: GlobalOptions
    let pids: [Int32]
    let settle: Duration

    func run(pool: ConnectionPool, endpoints: [ServerAddress]) async throws -> WatchReport {
        let epoch = ContinuousClock.now
        let stopAt = epoch + options.deadlineDuration
        let progress = FanOutProgress()
        let results = StreamResults()
        let clientCPUAtStart = ProcessProbe.selfCPUSeconds()
        let before = ResourceMeter.serverTotals(pids)
        var streamCall = CallOptions.defaults
        // The main task cancels the streams; this only bounds a run whose
        // main task is stuck.
        streamCall.timeout = options.deadlineDuration + .seconds(60)

        return await withTaskGroup(of: Void.self) { group in
            for stream in 0..<plan.streams {
                let watchStream = WatchStream(
                    client: Etcdserverpb_Watch.Client(wrapping: pool.client(for: stream)),
                    create: plan.createRequest, watchers: plan.watchers(onStream: stream),
                    options: streamCall, epoch: epoch)
                group.addTask { await watchStream.run(progress: progress, results: results) }
            }

            // Phase 1: every watcher created (or every stream already over).
            let createStart = ContinuousClock.now
            let watchers = plan.watchers, streams = plan.streams
            _ = await progress.wait(until: stopAt) { $0.createdCount >= watchers || $0.endedStreams >= streams }
            let createElapsed = createStart.duration(to: .now)
            let created = progress.createdCount
            try? await Task.sleep(for: settle)
            let after = ResourceMeter.serverTotals(pids)

            // Phase 2: the puts.
            let writeStart = epoch.duration(to: .now)
            let remaining = max(Duration.zero, ContinuousClock.now.duration(to: stopAt))
            let puts = await writer.run(pool: pool, total: options.total, deadline: remaining, epoch: epoch)

            // Phase 3: drain, bounded by the deadline and by a stall.
            let expected = puts.stats.successes * created
            var lastCount = -1
            var lastChange = ContinuousClock.now
            let stall = options.requestTimeoutDuration
            _ = await progress.wait(until: stopAt) { progress in
                let count = progress.eventCount
                if count != lastCount { lastCount = count; lastChange = .now }
                return count >= expected || lastChange.duration(to: .now) > stall
                    || progress.endedStreams >= streams
            }
            let end = ResourceMeter.serverTotals(pids)
            group.cancelAll()
            await group.waitForAll()

            let deliveryWindow = progress.lastEvent - writeStart
            return WatchReport(
                options: options, endpoints: endpoints, plan: plan,
                created: created, createSeconds: createElapsed.seconds,
                rssBeforeKb: before?.rssKb, rssAfterKb: after?.rssKb,
                puts: puts, expected: expected, streams: results.all,
                deliverySeconds: deliveryWindow > .zero ? deliveryWindow.seconds : 0,
                clientCPUSeconds: ProcessProbe.selfCPUSeconds() - clientCPUAtStart,
                serverCPUSeconds: end.flatMap { end in after.map { end.cpuSeconds - $0.cpuSeconds } },
                serverRSSKbAtEnd: end?.rssKb)
        }
    }
}
