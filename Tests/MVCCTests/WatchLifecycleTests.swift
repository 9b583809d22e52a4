import Testing

@testable import MVCC

@Suite("WatchHub lifecycle and IDs")
struct WatchLifecycleTests {
    @Test func cancelQueuesCanceledAfterPendingEventsAndStopsDelivery() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let id = rig.watch(watchKey("a"), on: stream)
        let other = rig.watch(watchKey("a"), on: stream)
        rig.put("a", "1")
        #expect(throws: Never.self) { try rig.hub.cancelWatcher(id, on: stream) }
        rig.put("a", "2")
        let responses = rig.drain(stream)
        #expect(responses.filter { $0.watchID == id }.map(\.canceled) == [false, false, true])
        #expect(responses.filter { $0.watchID == id }.last == WatchResponse(watchID: id, headerRevision: 1, canceled: true))
        #expect(rig.events(id, on: stream).map(\.kv.modRevision) == [1])
        #expect(rig.events(other, on: stream).map(\.kv.modRevision) == [1, 2])
        #expect(rig.hub.watcherCount == 1)
        // Unknown or already canceled IDs: an error and nothing queued (etcd).
        #expect(throws: WatchError.watcherNotFound) { try rig.hub.cancelWatcher(id, on: stream) }
        #expect(throws: WatchError.watcherNotFound) { try rig.hub.cancelWatcher(99, on: stream) }
        #expect(rig.drain(stream).isEmpty)
    }

    @Test func cancelingAnUnsyncedWatcherRemovesItFromCatchUp() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        for i in 0..<10 { rig.put("u", "\(i)") }
        let id = rig.watch(watchKey("u"), on: stream, from: 1)
        #expect(rig.hub.unsyncedWatcherCount == 1)
        try? rig.hub.cancelWatcher(id, on: stream)
        #expect(rig.hub.unsyncedWatcherCount == 0)
        #expect(rig.hub.syncUnsynced(history: rig.history).deliveredEvents == 0)
        rig.drain(stream)
        #expect(rig.events(id, on: stream).isEmpty)
    }

    @Test func closingAStreamFreesAllItsWatchers() {
        var rig = WatchRig()
        let closing = rig.hub.openStream()
        let staying = rig.hub.openStream()
        for i in 0..<5 { rig.put("k\(i)", "v") }
        _ = rig.watch(watchKey("k1"), on: closing)
        _ = rig.watch(watchPrefix("k"), on: closing)
        _ = rig.watch(watchPrefix("k"), on: closing, from: 1)  // unsynced
        let kept = rig.watch(watchPrefix("k"), on: staying)
        rig.put("k1", "queued")
        #expect(rig.hub.watcherCount == 4 && rig.hub.unsyncedWatcherCount == 1)
        #expect(rig.hub.pendingResponseCount(closing) > 0)

        rig.hub.closeStream(closing)
        #expect(rig.hub.watcherCount == 1)
        #expect(rig.hub.unsyncedWatcherCount == 0)
        #expect(rig.hub.pendingResponseCount(closing) == 0)
        #expect(rig.hub.drain(closing).isEmpty)
        #expect(rig.hub.takeReadyStreams() == [staying])
        rig.put("k1", "after close")
        rig.hub.requestProgress(on: closing)
        #expect(rig.hub.drain(closing).isEmpty)
        #expect(
            rig.hub.createWatcher(WatchCreateRequest(range: watchKey("k1")), on: closing, history: rig.history)
                == .failure(.streamNotFound))
        #expect(throws: WatchError.streamNotFound) { try rig.hub.cancelWatcher(0, on: closing) }
        rig.drain(staying)
        #expect(rig.events(kept, on: staying).map(\.kv.modRevision) == [6, 7])
        #expect(rig.hub.syncedByKey.isEmpty && rig.hub.syncedRanges.count == 1)
    }

    @Test func autoIDsStartAtZeroPerStreamAndSkipClientChosenOnes() {
        var rig = WatchRig()
        let s1 = rig.hub.openStream()
        let s2 = rig.hub.openStream()
        #expect(rig.watch(watchKey("a"), on: s1) == 0)
        #expect(rig.watch(watchKey("a"), on: s1, id: 1) == 1)
        #expect(rig.watch(watchKey("a"), on: s1, id: -1) == 2)  // -1: auto as well
        #expect(rig.watch(watchKey("a"), on: s1) == 3)
        #expect(rig.watch(watchKey("a"), on: s2) == 0)  // per stream
        #expect(rig.watch(watchKey("a"), on: s2, id: 1) == 1)  // same client ID, other stream
        #expect(rig.watch(watchKey("a"), on: s1, id: 100) == 100)
        rig.put("a", "1")
        rig.drain(s1)
        rig.drain(s2)
        for id: WatchID in [0, 1, 2, 3, 100] {
            #expect(rig.events(id, on: s1).count == 1)
        }
        #expect(rig.events(0, on: s2).count == 1 && rig.events(1, on: s2).count == 1)
    }

    @Test func duplicateClientWatchIDIsRefusedAsEtcdDoes() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        rig.put("a", "1")
        #expect(rig.watch(watchKey("a"), on: stream, id: 7) == 7)
        let duplicate = rig.hub.createWatcher(
            WatchCreateRequest(range: watchKey("b"), watchID: 7), on: stream, history: rig.history)
        #expect(duplicate == .failure(.duplicateWatchID))
        #expect(
            rig.drain(stream) == [
                WatchResponse(watchID: 7, headerRevision: 1, created: true),
                WatchResponse(
                    watchID: -1, headerRevision: 1, created: true, canceled: true,
                    cancelReason: "mvcc: duplicate watch ID provided on the WatchStream"),
            ])
        #expect(rig.hub.watcherCount == 1)
        rig.put("b", "not watched")
        #expect(rig.drain(stream).isEmpty)
        // Once canceled, the client may reuse the ID.
        try? rig.hub.cancelWatcher(7, on: stream)
        #expect(rig.watch(watchKey("b"), on: stream, id: 7) == 7)
        rig.put("b", "watched")
        rig.drain(stream)
        #expect(rig.events(7, on: stream).map(\.kv.modRevision) == [3])
    }

    @Test func readyStreamsReportWhoHasSomethingToSend() {
        var rig = WatchRig()
        let s1 = rig.hub.openStream()
        let s2 = rig.hub.openStream()
        #expect(rig.hub.takeReadyStreams().isEmpty)
        _ = rig.watch(watchKey("a"), on: s1)
        _ = rig.watch(watchKey("b"), on: s2)
        #expect(rig.hub.takeReadyStreams() == [s1, s2])
        #expect(rig.hub.takeReadyStreams().isEmpty)
        rig.drain(s1)
        rig.drain(s2)
        rig.put("b", "1")
        #expect(rig.hub.takeReadyStreams() == [s2])
        rig.put("b", "2")
        rig.drain(s2)
        #expect(rig.hub.takeReadyStreams().isEmpty)  // drained before anyone looked
    }
}
