import Testing

@testable import MVCC

/// Fails if any progress response on the stream claims a revision for which
/// some event of a covered watcher had not been received before it.
/// `expected` gives, per watcher ID, all the events it must eventually get.
func watchCheckProgressNeverOvertakes(
    _ responses: [WatchResponse], expected: [WatchID: [Event]],
    sourceLocation: SourceLocation = #_sourceLocation
) -> Int {
    var received: [WatchID: Int] = [:]
    var created: Set<WatchID> = []
    var progressCount = 0
    for response in responses {
        if response.created { created.insert(response.watchID) }
        if response.isProgressNotify {
            progressCount += 1
            // A stream-wide progress speaks for the watchers existing then.
            let covered = response.watchID == WatchResponse.streamWatchID ? Array(created) : [response.watchID]
            for id in covered where expected[id] != nil {
                let owed = expected[id]!.filter { $0.kv.modRevision <= response.headerRevision }.count
                #expect(
                    received[id, default: 0] >= owed,
                    "progress at \(response.headerRevision) overtook events of watcher \(id)",
                    sourceLocation: sourceLocation)
            }
        } else {
            received[response.watchID, default: 0] += response.events.count
        }
    }
    return progressCount
}

@Suite("WatchHub progress")
struct WatchProgressTests {
    @Test func progressRequestOnSyncedStreamComesAfterItsEvents() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let id = rig.watch(watchKey("p"), on: stream)
        rig.put("p", "1")
        rig.put("q", "2")
        rig.hub.requestProgress(on: stream)
        let responses = rig.drain(stream)
        #expect(responses.count == 3)
        #expect(responses[1].events.map(\.kv.modRevision) == [1])
        #expect(responses[2] == WatchResponse(watchID: -1, headerRevision: 2))
        #expect(responses[2].isProgressNotify)
        _ = id
    }

    @Test func progressRequestOnStreamWithoutWatchersIsAnsweredAtOnce() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        rig.put("a", "1")
        rig.hub.requestProgress(on: stream)
        #expect(rig.drain(stream) == [WatchResponse(watchID: -1, headerRevision: 1)])
    }

    @Test func progressRequestWaitsUntilAnUnsyncedWatcherCaughtUp() {
        var rig = WatchRig(configuration: .init(streamCapacity: 2))
        let stream = rig.hub.openStream()
        let a = rig.watch(watchPrefix("x/"), on: stream)
        let b = rig.watch(watchKey("x/1"), on: stream)
        for i in 0..<30 { rig.put("x/\(i % 3)", "\(i)") }  // the stream overflows
        #expect(rig.hub.unsyncedWatcherCount > 0)
        rig.hub.requestProgress(on: stream)
        rig.hub.requestProgress(on: stream)  // a second request is folded into the first
        for i in 0..<3 { rig.put("x/\(i)", "more") }

        var rounds = 0
        while rounds < 200 && (rig.hub.unsyncedWatcherCount > 0 || rig.hub.pendingResponseCount(stream) > 0) {
            rig.received[stream, default: []].append(contentsOf: rig.hub.drain(stream, maxResponses: 1))
            rig.hub.syncUnsynced(history: rig.history, maxEvents: 5)
            rounds += 1
        }
        rig.put("x/2", "after")
        rig.hub.requestProgress(on: stream)
        rig.drain(stream)
        let responses = rig.received[stream]!
        let progress = watchCheckProgressNeverOvertakes(
            responses,
            expected: [a: rig.expected(watchPrefix("x/"), from: 1), b: rig.expected(watchKey("x/1"), from: 1)])
        #expect(progress == 2)
        let progressResponses = responses.filter { $0.isProgressNotify }
        #expect(progressResponses.map(\.headerRevision) == [33, 34])
        watchExpectEvents(rig.events(a, on: stream), rig.expected(watchPrefix("x/"), from: 1))
        // The first progress came only once everything up to 33 was in front of it.
        let firstProgress = responses.firstIndex(where: \.isProgressNotify)!
        #expect(responses[..<firstProgress].flatMap(\.events).filter { $0.kv.modRevision == 33 }.count == 1)
    }

    @Test func cancelingTheLastUnsyncedWatcherReleasesADeferredProgress() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        for i in 0..<5 { rig.put("c", "\(i)") }
        let behind = rig.watch(watchKey("c"), on: stream, from: 1)
        rig.hub.requestProgress(on: stream)
        #expect(rig.drain(stream).filter { $0.isProgressNotify }.isEmpty)
        try? rig.hub.cancelWatcher(behind, on: stream)
        #expect(
            rig.drain(stream) == [
                WatchResponse(watchID: behind, headerRevision: 5, canceled: true),
                WatchResponse(watchID: -1, headerRevision: 5),
            ])
    }

    @Test func periodicProgressOnlyForQuietSyncedWatchersThatAskedForIt() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        rig.put("seed", "0")
        let quiet = rig.watch(watchKey("q"), on: stream, progressNotify: true)
        let busy = rig.watch(watchKey("b"), on: stream, progressNotify: true)
        let silent = rig.watch(watchKey("q"), on: stream)  // did not ask
        let behind = rig.watch(watchKey("b"), on: stream, from: 1, progressNotify: true)  // unsynced
        rig.drain(stream)

        rig.hub.progressTick()
        #expect(
            rig.drain(stream) == [
                WatchResponse(watchID: quiet, headerRevision: 1),
                WatchResponse(watchID: busy, headerRevision: 1),
            ])

        rig.put("b", "1")  // busy gets an event; etcd elides its next progress
        rig.put("z", "2")
        rig.hub.progressTick()
        let second = rig.drain(stream)
        #expect(second.map(\.watchID) == [busy, quiet])
        #expect(second[1] == WatchResponse(watchID: quiet, headerRevision: 3))

        rig.hub.progressTick()
        #expect(
            rig.drain(stream) == [
                WatchResponse(watchID: quiet, headerRevision: 3),
                WatchResponse(watchID: busy, headerRevision: 3),
            ])
        _ = (silent, behind)
    }

    @Test func periodicProgressSkipsAFallenBehindWatcherUntilItCaughtUp() {
        var rig = WatchRig(configuration: .init(streamCapacity: 1))
        let stream = rig.hub.openStream()
        let id = rig.watch(watchPrefix("n/"), on: stream, progressNotify: true)
        rig.put("n/a", "1")  // queued
        rig.put("n/b", "2")  // queue full: falls behind at 2
        rig.put("n/c", "3")
        #expect(rig.hub.isSynced(id, on: stream) == false)
        rig.hub.progressTick()  // elided: events were sent since the last tick
        rig.hub.progressTick()  // skipped: unsynced
        #expect(rig.drain(stream).filter { $0.isProgressNotify }.isEmpty)
        rig.hub.syncUnsynced(history: rig.history)
        rig.hub.progressTick()  // elided again (the catch-up batch was sent)
        rig.hub.progressTick()
        let responses = rig.drain(stream)
        #expect(responses.map(\.events.count) == [2, 0])
        #expect(responses.last == WatchResponse(watchID: id, headerRevision: 3))
    }

    @Test func periodicProgressNeverOvertakesEventsOfAFallenBehindWatcher() {
        var rig = WatchRig(configuration: .init(streamCapacity: 3))
        let stream = rig.hub.openStream()
        let id = rig.watch(watchPrefix("n/"), on: stream, progressNotify: true)
        let quiet = rig.watch(watchKey("n/never"), on: stream, progressNotify: true)
        var rounds = 0
        for i in 0..<60 {
            rig.put("n/\(i % 4)", "\(i)")
            if i % 5 == 0 { rig.hub.progressTick() }
            if i % 3 == 0 {
                rig.received[stream, default: []].append(contentsOf: rig.hub.drain(stream, maxResponses: 1))
                rig.hub.syncUnsynced(history: rig.history, maxEvents: 2)
            }
        }
        while rounds < 500 && (rig.hub.unsyncedWatcherCount > 0 || rig.hub.pendingResponseCount(stream) > 0) {
            rig.hub.progressTick()
            rig.received[stream, default: []].append(contentsOf: rig.hub.drain(stream, maxResponses: 1))
            rig.hub.syncUnsynced(history: rig.history, maxEvents: 2)
            rounds += 1
        }
        rig.hub.progressTick()
        rig.hub.progressTick()
        rig.drain(stream)
        let count = watchCheckProgressNeverOvertakes(
            rig.received[stream]!,
            expected: [id: rig.expected(watchPrefix("n/"), from: 1), quiet: []])
        #expect(count >= 2)
        #expect(rig.received[stream]!.suffix(2).contains(WatchResponse(watchID: id, headerRevision: 60)))
        watchExpectEvents(rig.events(id, on: stream), rig.expected(watchPrefix("n/"), from: 1))
    }

    @Test func repeatedProgressRequestsDoNotPileUp() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        _ = rig.watch(watchKey("a"), on: stream)
        rig.drain(stream)
        for _ in 0..<100 { rig.hub.requestProgress(on: stream) }
        rig.put("b", "1")
        for _ in 0..<100 { rig.hub.requestProgress(on: stream) }
        #expect(
            rig.drain(stream) == [
                WatchResponse(watchID: -1, headerRevision: 0),
                WatchResponse(watchID: -1, headerRevision: 1),
            ])
    }
}
