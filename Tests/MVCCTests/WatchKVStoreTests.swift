import Testing

@testable import MVCC

/// The hub wired to the real `KVStore`, the way the server wires them: apply
/// a write to the store, then notify the hub with the write's events.
@Suite("WatchHub with KVStore")
struct WatchKVStoreTests {
    struct Rig {
        var store = KVStore()
        var hub: WatchHub
        var received: [WatchStreamID: [WatchResponse]] = [:]

        init(configuration: WatchHub.Configuration = .init()) {
            hub = WatchHub(currentRevision: store.currentRevision, configuration: configuration)
        }

        mutating func apply(_ events: [Event]) {
            hub.notify(events: events, revision: store.currentRevision)
        }

        mutating func put(_ key: String, _ value: String) throws {
            let (_, events) = try store.put(PutRequest(key: watchBytes(key), value: watchBytes(value)))
            apply(events)
        }

        mutating func delete(_ key: String, prefix: Bool = false) {
            let range = prefix ? watchPrefix(key) : watchKey(key)
            let (_, events) = store.deleteRange(DeleteRangeRequest(key: range.key, rangeEnd: range.rangeEnd))
            apply(events)
        }

        mutating func txn(_ ops: [RequestOp]) throws {
            let (_, events) = try store.txn(TxnRequest(success: ops))
            apply(events)
        }

        mutating func watch(_ request: WatchCreateRequest, on stream: WatchStreamID) -> WatchID {
            guard case .success(let id) = hub.createWatcher(request, on: stream, history: store) else {
                Issue.record("watch refused")
                return -1
            }
            return id
        }

        mutating func drain(_ stream: WatchStreamID, max: Int = .max) {
            received[stream, default: []].append(contentsOf: hub.drain(stream, maxResponses: max))
        }

        func events(_ id: WatchID, on stream: WatchStreamID) -> [Event] {
            (received[stream] ?? []).filter { $0.watchID == id }.flatMap(\.events)
        }

        /// The store's own account of what a watcher from `start` must see.
        func expected(_ range: KeyRange, from start: Int64, prevKv: Bool) throws -> [Event] {
            try store.events(in: range, from: start, to: store.currentRevision).map { event in
                var event = event
                if !prevKv { event.prevKv = nil }
                return event
            }
        }
    }

    @Test func liveAndReplayedWatchersAgreeWithTheStoreHistory() throws {
        var rig = Rig(configuration: .init(streamCapacity: 3))
        let fast = rig.hub.openStream()
        let slow = rig.hub.openStream()
        let prefixFast = rig.watch(WatchCreateRequest(range: watchPrefix("app/"), prevKv: true), on: fast)
        let keyFast = rig.watch(WatchCreateRequest(range: watchKey("app/3")), on: fast)
        let prefixSlow = rig.watch(WatchCreateRequest(range: watchPrefix("app/"), prevKv: true), on: slow)

        for i in 0..<120 {
            switch i % 6 {
            case 4:
                try rig.txn([
                    .put(PutRequest(key: watchBytes("app/\(i % 5)"), value: watchBytes("t\(i)"))),
                    .put(PutRequest(key: watchBytes("other/\(i)"), value: watchBytes("x"))),
                    .deleteRange(DeleteRangeRequest(key: watchBytes("app/\((i + 2) % 5)"))),
                ])
            case 5:
                rig.delete("app/\(i % 5)")
            default:
                try rig.put("app/\(i % 5)", "v\(i)")
            }
            rig.drain(fast)
            if i % 10 == 0 { rig.drain(slow, max: 1) }  // a slow consumer
            if i % 4 == 0 { rig.hub.syncUnsynced(history: rig.store, maxEvents: 8) }
        }
        #expect(rig.hub.isSynced(prefixSlow, on: slow) == false)

        // A watcher created now from revision 2 replays everything.
        let late = rig.hub.openStream()
        let replay = rig.watch(WatchCreateRequest(range: watchPrefix("app/"), startRevision: 2, prevKv: true), on: late)

        for _ in 0..<1000 where rig.hub.unsyncedWatcherCount > 0 || rig.hub.pendingResponseCount(slow) > 0 {
            rig.drain(slow, max: 2)
            rig.drain(late)
            rig.hub.syncUnsynced(history: rig.store, maxEvents: 8)
        }
        try rig.put("app/0", "final")
        for stream in [fast, slow, late] { rig.drain(stream) }

        let all = try rig.expected(watchPrefix("app/"), from: 2, prevKv: true)
        #expect(all.count > 120)
        watchExpectEvents(rig.events(prefixFast, on: fast), all, "live")
        watchExpectEvents(rig.events(prefixSlow, on: slow), all, "slow")
        watchExpectEvents(rig.events(replay, on: late), all, "replayed")
        watchExpectEvents(rig.events(keyFast, on: fast), try rig.expected(watchKey("app/3"), from: 2, prevKv: false))
        for stream in [fast, slow, late] { watchCheckWellFormed(rig.received[stream]!) }
        // Live events carry the same prevKv the history replays.
        #expect(rig.events(prefixFast, on: fast).contains { $0.kind == .delete && $0.prevKv != nil })
    }

    @Test func compactedStoreCancelsWatchersThatStartTooEarly() throws {
        var rig = Rig()
        let stream = rig.hub.openStream()
        for i in 0..<10 { try rig.put("c", "\(i)") }  // revisions 2...11
        try rig.store.compact(6)
        let early = rig.watch(WatchCreateRequest(range: watchKey("c"), startRevision: 3), on: stream)
        let ok = rig.watch(WatchCreateRequest(range: watchKey("c"), startRevision: 7), on: stream)
        rig.hub.syncUnsynced(history: rig.store)
        try rig.put("c", "live")
        rig.drain(stream)
        let responses = rig.received[stream]!
        #expect(responses.contains(WatchResponse(watchID: early, headerRevision: 11, canceled: true, compactRevision: 6)))
        #expect(rig.events(early, on: stream).isEmpty)
        #expect(rig.events(ok, on: stream).map(\.kv.modRevision) == Array(7...12))
    }

    @Test func watchFromZeroStartsAfterTheStoreRevision() throws {
        var rig = Rig()
        let stream = rig.hub.openStream()
        try rig.put("z", "before")
        let id = rig.watch(WatchCreateRequest(range: watchKey("z")), on: stream)
        #expect(rig.hub.isSynced(id, on: stream) == true)
        try rig.put("z", "after")
        rig.drain(stream)
        #expect(rig.received[stream]!.first == WatchResponse(watchID: id, headerRevision: 2, created: true))
        #expect(rig.events(id, on: stream).map { String(decoding: $0.kv.value, as: UTF8.self) } == ["after"])
    }

    @Test func leaseRevocationDeletesArriveAsOneRevision() throws {
        var rig = Rig()
        let stream = rig.hub.openStream()
        _ = try rig.store.grantLease(id: 7, ttl: 60)
        for key in ["svc/a", "svc/b", "other"] {
            let (_, events) = try rig.store.put(PutRequest(key: watchBytes(key), value: watchBytes("up"), lease: 7))
            rig.apply(events)
        }
        let id = rig.watch(WatchCreateRequest(range: watchPrefix("svc/"), filters: .noPut, prevKv: true), on: stream)
        let (revision, events) = try rig.store.revokeLease(7)
        rig.hub.notify(events: events, revision: revision)
        rig.drain(stream)
        let deletes = rig.received[stream]!.filter { !$0.events.isEmpty }
        #expect(deletes.count == 1)
        #expect(deletes[0].headerRevision == revision)
        #expect(deletes[0].events.map { String(decoding: $0.kv.key, as: UTF8.self) } == ["svc/a", "svc/b"])
        #expect(deletes[0].events.allSatisfy { $0.kind == .delete && $0.kv.modRevision == revision && $0.prevKv?.lease == 7 })
        watchExpectEvents(rig.events(id, on: stream), try rig.expected(watchPrefix("svc/"), from: revision, prevKv: true))
    }

    @Test func restoringASnapshotReplaysWhatTheFollowerMissed() throws {
        // The leader's store moves on; the follower's hub had a watcher at revision 3.
        var leader = KVStore()
        var rig = Rig()
        let stream = rig.hub.openStream()
        let id = rig.watch(WatchCreateRequest(range: watchPrefix("s/")), on: stream)
        for i in 0..<5 {
            let request = PutRequest(key: watchBytes("s/\(i % 2)"), value: watchBytes("\(i)"))
            _ = try leader.put(request)
            if i < 2 { try rig.put("s/\(i % 2)", "\(i)") }  // the follower applied only two
        }
        rig.drain(stream)
        #expect(rig.events(id, on: stream).map(\.kv.modRevision) == [2, 3])

        rig.store = try KVStore(snapshot: leader.snapshot())
        rig.hub.restore(currentRevision: rig.store.currentRevision)
        #expect(rig.hub.isSynced(id, on: stream) == false)
        rig.hub.syncUnsynced(history: rig.store)
        try rig.put("s/9", "after")
        rig.drain(stream)
        #expect(rig.events(id, on: stream).map(\.kv.modRevision) == [2, 3, 4, 5, 6, 7])
        #expect(rig.events(id, on: stream).map { String(decoding: $0.kv.value, as: UTF8.self) } == ["0", "1", "2", "3", "4", "after"])
    }
}
