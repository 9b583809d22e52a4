import Testing

@testable import MVCC

@Suite("WatchHub history catch-up")
struct WatchSyncTests {
    @Test func replayFromPastRevisionThenLive() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        for i in 0..<50 { rig.put("r/\(i % 5)", "\(i)") }
        let id = rig.watch(watchPrefix("r/"), on: stream, from: 10)
        #expect(rig.hub.isSynced(id, on: stream) == false)
        #expect(rig.drain(stream).map(\.created) == [true])  // nothing until synced
        rig.put("r/0", "live-while-unsynced")  // rev 51: not delivered live
        #expect(rig.drain(stream).isEmpty)

        let report = rig.hub.syncUnsynced(history: rig.history)
        #expect(report.becameSynced == 1 && report.remainingUnsynced == 0)
        #expect(report.deliveredEvents == 42)
        let replay = rig.drain(stream)
        #expect(replay.count == 1)
        #expect(replay[0].events.map(\.kv.modRevision) == Array(10...51))
        #expect(replay[0].headerRevision == 51)
        #expect(rig.hub.isSynced(id, on: stream) == true)

        rig.put("r/1", "live")
        rig.put("q", "other")
        rig.drain(stream)
        watchExpectEvents(rig.events(id, on: stream), rig.expected(watchPrefix("r/"), from: 10))
    }

    @Test func boundedBatchesNeverSplitARevision() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        for i in 0..<20 {
            if i % 4 == 0 {
                rig.txn([.put("b/x\(i)", "1"), .put("b/y\(i)", "2"), .put("b/z\(i)", "3")])
            } else {
                rig.put("b/k", "\(i)")
            }
        }
        rig.txn((0..<6).map { .put("b/big\($0)", "v") })  // one revision larger than a batch
        rig.put("b/k", "last")
        let id = rig.watch(watchPrefix("b/"), on: stream, from: 1)

        var calls = 0
        while rig.hub.unsyncedWatcherCount > 0 && calls < 100 {
            rig.hub.syncUnsynced(history: rig.history, maxEvents: 4)
            rig.drain(stream)
            calls += 1
        }
        #expect(calls > 5)  // really did go in several batches
        let responses = rig.received[stream]!.filter { !$0.events.isEmpty }
        for response in responses {
            let revisions = Set(response.events.map(\.kv.modRevision))
            #expect(response.events.count <= 4 || revisions.count == 1)
            // A batch ends at a revision boundary and says so in its header.
            #expect(response.headerRevision >= response.events.last!.kv.modRevision)
        }
        #expect(responses.contains { $0.events.count == 6 })
        watchCheckWellFormed(rig.received[stream]!)
        watchExpectEvents(rig.events(id, on: stream), rig.expected(watchPrefix("b/"), from: 1))
    }

    @Test func revisionBoundaryCutsBetweenRevisions() {
        func events(_ revisions: [Int64]) -> [Event] {
            revisions.map { Event(kind: .put, kv: KeyValue(key: [1], createRevision: $0, modRevision: $0, version: 1, value: [])) }
        }
        #expect(WatchHub.revisionBoundary(events([1, 2, 3]), maxEvents: 3) == nil)
        #expect(WatchHub.revisionBoundary(events([1, 2, 3, 4]), maxEvents: 3) == 3)
        #expect(WatchHub.revisionBoundary(events([1, 2, 2, 2, 3]), maxEvents: 3) == 1)
        #expect(WatchHub.revisionBoundary(events([1, 1, 1, 1, 2]), maxEvents: 3) == 4)
        #expect(WatchHub.revisionBoundary(events([1, 1, 1, 1]), maxEvents: 3) == nil)
    }

    @Test func startBelowCompactionIsCanceledWithCompactRevision() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        for i in 0..<30 { rig.put("c", "\(i)") }
        rig.history.compactedRevision = 20

        let below = rig.watch(watchKey("c"), on: stream, from: 15)
        let at = rig.watch(watchKey("c"), on: stream, from: 20)
        let after = rig.watch(watchKey("c"), on: stream, from: 21)
        #expect(rig.drain(stream) == [
            WatchResponse(watchID: below, headerRevision: 30, created: true),
            WatchResponse(watchID: below, headerRevision: 30, canceled: true, compactRevision: 20),
            // etcd serves a watch from exactly the compacted revision.
            WatchResponse(watchID: at, headerRevision: 30, created: true),
            WatchResponse(watchID: after, headerRevision: 30, created: true),
        ])
        #expect(rig.hub.watcherCount == 2)
        rig.settle(streams: [stream])
        rig.put("c", "new")
        rig.drain(stream)
        #expect(rig.events(below, on: stream).isEmpty)
        #expect(rig.events(after, on: stream).map(\.kv.modRevision) == Array(21...31))
    }

    @Test func compactionOvertakingAnUnsyncedWatcherCancelsIt() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        for i in 0..<40 { rig.put("k", "\(i)") }
        let id = rig.watch(watchKey("k"), on: stream, from: 5)
        rig.hub.syncUnsynced(history: rig.history, maxEvents: 10)  // revisions 5...14
        rig.history.compactedRevision = 30
        let report = rig.hub.syncUnsynced(history: rig.history, maxEvents: 10)
        #expect(report.canceledByCompaction == 1 && report.remainingUnsynced == 0)
        let responses = rig.drain(stream)
        #expect(responses.last == WatchResponse(watchID: id, headerRevision: 40, canceled: true, compactRevision: 30))
        #expect(rig.events(id, on: stream).map(\.kv.modRevision) == Array(5...14))
        rig.put("k", "after")
        #expect(rig.drain(stream).isEmpty)
        #expect(rig.hub.watcherCount == 0)
    }

    @Test func slowConsumerFallsBehindWithoutHurtingOthersThenCatchesUpExactlyOnce() {
        var rig = WatchRig(configuration: .init(streamCapacity: 4))
        let slow = rig.hub.openStream()
        let fast = rig.hub.openStream()
        let slowID = rig.watch(watchPrefix("s/"), on: slow)
        let slowKeyID = rig.watch(watchKey("s/3"), on: slow)
        let fastID = rig.watch(watchPrefix("s/"), on: fast)

        for i in 0..<200 {
            if i % 10 == 9 {
                rig.txn([.put("s/\(i % 7)", "t\(i)"), .delete("s/\((i + 1) % 7)")])
            } else {
                rig.put("s/\(i % 7)", "\(i)")
            }
            rig.drain(fast)
            // The slow stream's queue stays bounded while writers keep going.
            #expect(rig.hub.pendingResponseCount(slow) <= 2 + 4)
        }
        #expect(rig.hub.isSynced(slowID, on: slow) == false)
        #expect(rig.hub.isSynced(fastID, on: fast) == true)
        watchExpectEvents(rig.events(fastID, on: fast), rig.expected(watchPrefix("s/"), from: 1))

        // Syncing while the slow stream is still full does nothing.
        let blocked = rig.hub.syncUnsynced(history: rig.history, maxEvents: 16)
        #expect(blocked.deliveredEvents == 0 && blocked.blockedOnFullStream >= 1)

        // The slow consumer now drains a few responses at a time while writes continue.
        var rounds = 0
        while (rig.hub.unsyncedWatcherCount > 0 || rig.hub.pendingResponseCount(slow) > 0) && rounds < 1000 {
            rig.received[slow, default: []].append(contentsOf: rig.hub.drain(slow, maxResponses: 3))
            rig.hub.syncUnsynced(history: rig.history, maxEvents: 16)
            if rounds < 40 { rig.put("s/\(rounds % 7)", "late\(rounds)") }
            rig.drain(fast)
            rounds += 1
        }
        #expect(rounds < 1000)
        #expect(rig.hub.isSynced(slowID, on: slow) == true)
        for i in 0..<5 {
            rig.put("s/3", "tail\(i)")
            rig.drain(slow)
            rig.drain(fast)
        }
        #expect(rig.hub.unsyncedWatcherCount == 0)

        watchExpectEvents(rig.events(slowID, on: slow), rig.expected(watchPrefix("s/"), from: 1))
        watchExpectEvents(rig.events(slowKeyID, on: slow), rig.expected(watchKey("s/3"), from: 1))
        watchExpectEvents(rig.events(fastID, on: fast), rig.expected(watchPrefix("s/"), from: 1))
        watchCheckWellFormed(rig.received[slow]!)
        watchCheckWellFormed(rig.received[fast]!)
    }

    @Test func victimResumesAtTheRevisionItMissed() {
        var rig = WatchRig(configuration: .init(streamCapacity: 1))
        let stream = rig.hub.openStream()
        let id = rig.watch(watchKey("v"), on: stream)
        rig.put("v", "1")  // fills the queue
        rig.put("v", "2")  // queue full: the watcher falls behind at revision 2
        #expect(rig.hub.isSynced(id, on: stream) == false)
        rig.drain(stream)
        rig.hub.syncUnsynced(history: rig.history)
        #expect(rig.hub.isSynced(id, on: stream) == true)
        rig.drain(stream)  // capacity 1: make room for the next revision
        rig.put("v", "3")
        rig.drain(stream)
        #expect(rig.events(id, on: stream).map(\.kv.modRevision) == [1, 2, 3])
        #expect(rig.received[stream]!.filter { !$0.events.isEmpty }.map(\.headerRevision) == [1, 2, 3])
    }

    @Test func syncVisitsUnsyncedWatchersRoundRobin() {
        var rig = WatchRig(configuration: .init(maxWatchersPerSync: 1))
        let stream = rig.hub.openStream()
        for i in 0..<10 { rig.put("w", "\(i)") }
        let a = rig.watch(watchKey("w"), on: stream, from: 1)
        let b = rig.watch(watchKey("w"), on: stream, from: 1)
        rig.drain(stream)
        rig.hub.syncUnsynced(history: rig.history, maxEvents: 3)
        rig.hub.syncUnsynced(history: rig.history, maxEvents: 3)
        rig.drain(stream)
        #expect(rig.events(a, on: stream).map(\.kv.modRevision) == [1, 2, 3])
        #expect(rig.events(b, on: stream).map(\.kv.modRevision) == [1, 2, 3])
        rig.settle(streams: [stream], maxEvents: 3)
        watchExpectEvents(rig.events(a, on: stream), rig.expected(watchKey("w"), from: 1))
        watchExpectEvents(rig.events(b, on: stream), rig.expected(watchKey("w"), from: 1))
    }

    @Test func restoreResyncsWatchersFromTheNewHistory() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let id = rig.watch(watchKey("r"), on: stream)
        rig.put("r", "1")
        rig.drain(stream)
        // A snapshot brings the store to revision 3 without notifying.
        rig.history.put("r", "2")
        rig.history.put("x", "3")
        rig.hub.restore(currentRevision: rig.history.currentRevision)
        #expect(rig.hub.isSynced(id, on: stream) == false)
        rig.settle(streams: [stream])
        #expect(rig.hub.isSynced(id, on: stream) == true)
        rig.put("r", "4")
        rig.drain(stream)
        #expect(rig.events(id, on: stream).map(\.kv.modRevision) == [1, 2, 4])
    }

    @Test func skippedRevisionsAreReplayedNotLost() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let id = rig.watch(watchPrefix("g/"), on: stream)
        let future = rig.watch(watchKey("g/a"), on: stream, from: 3)
        rig.history.put("g/a", "1")  // revision 1 is applied but never notified
        rig.put("g/a", "2")  // notify(2) reveals the gap
        #expect(rig.hub.isSynced(id, on: stream) == false)
        #expect(rig.hub.isSynced(future, on: stream) == true)  // wants nothing below 3
        rig.settle(streams: [rig.hub.openStream(), stream])
        rig.put("g/a", "3")
        rig.drain(stream)
        #expect(rig.events(id, on: stream).map(\.kv.modRevision) == [1, 2, 3])
        #expect(rig.events(future, on: stream).map(\.kv.modRevision) == [3])
    }

    /// Counts the history reads the hub makes.
    final class ReadCounter {
        var reads: [(from: Int64, to: Int64)] = []
    }

    struct CountingHistory: EventHistory {
        let base: WatchFakeHistory
        let counter: ReadCounter
        var currentRevision: Int64 { base.currentRevision }
        var compactedRevision: Int64 { base.compactedRevision }
        func events(in range: KeyRange, from: Int64, to: Int64) throws(MVCCError) -> [Event] {
            counter.reads.append((from, to))
            return try base.events(in: range, from: from, to: to)
        }
    }

    @Test func quietHistoryIsCrossedInFewReadsAndDenseHistoryInBoundedOnes() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        for i in 1...5000 {
            if i == 2500 { rig.put("rare", "!") } else { rig.put("busy", "\(i)") }
        }
        let rare = rig.watch(watchKey("rare"), on: stream, from: 1)
        let counter = ReadCounter()
        let report = rig.hub.syncUnsynced(history: CountingHistory(base: rig.history, counter: counter), maxEvents: 10)
        #expect(report.becameSynced == 1)
        #expect(counter.reads.count == 4)  // 10, 80, 640 revisions empty; 5120 reaches the end
        #expect(counter.reads.last! == (from: 731, to: 5000))
        rig.drain(stream)
        #expect(rig.events(rare, on: stream).map(\.kv.modRevision) == [2500])
        #expect(rig.received[stream]!.last!.headerRevision == 5000)

        // A dense range: one read of maxEvents revisions per call.
        let busy = rig.watch(watchKey("busy"), on: stream, from: 4001)
        counter.reads.removeAll()
        rig.hub.syncUnsynced(history: CountingHistory(base: rig.history, counter: counter), maxEvents: 10)
        #expect(counter.reads.count == 1 && counter.reads[0] == (from: 4001, to: 4010))
        rig.settle(streams: [stream], maxEvents: 10)
        watchExpectEvents(rig.events(busy, on: stream), rig.expected(watchKey("busy"), from: 4001))
    }
}
