import Testing

@testable import MVCC

// MARK: - Test support (shared by the Watch*Tests files)

/// A tiny in-memory `EventHistory`: a log of the events of every revision,
/// written through `put`/`delete`/`txn`, independent of `KVStore`.
struct WatchFakeHistory: EventHistory {
    enum Op {
        case put(String, String)
        case delete(String)
    }

    /// `log[i]` holds the events of revision `i + 1`.
    private(set) var log: [[Event]] = []
    private var live: [[UInt8]: KeyValue] = [:]
    var compactedRevision: Int64 = 0
    var currentRevision: Int64 { Int64(log.count) }

    /// Applies one revision made of `ops`; returns its events (in op order).
    @discardableResult
    mutating func txn(_ ops: [Op]) -> [Event] {
        let revision = currentRevision + 1
        var events: [Event] = []
        for op in ops {
            switch op {
            case .put(let key, let value):
                let key = Array(key.utf8)
                let prev = live[key]
                let kv = KeyValue(
                    key: key, createRevision: prev?.createRevision ?? revision, modRevision: revision,
                    version: (prev?.version ?? 0) + 1, value: Array(value.utf8))
                live[key] = kv
                events.append(Event(kind: .put, kv: kv, prevKv: prev))
            case .delete(let key):
                let key = Array(key.utf8)
                guard let prev = live.removeValue(forKey: key) else { continue }
                let kv = KeyValue(key: key, createRevision: 0, modRevision: revision, version: 0, value: [])
                events.append(Event(kind: .delete, kv: kv, prevKv: prev))
            }
        }
        precondition(!events.isEmpty, "a revision needs at least one event")
        log.append(events)
        return events
    }

    @discardableResult
    mutating func put(_ key: String, _ value: String) -> [Event] { txn([.put(key, value)]) }

    @discardableResult
    mutating func delete(_ key: String) -> [Event] { txn([.delete(key)]) }

    func events(in range: KeyRange, from: Int64, to: Int64) throws(MVCCError) -> [Event] {
        if compactedRevision > 0 && from < compactedRevision { throw .compacted }
        guard from <= to, from <= currentRevision else { return [] }
        let lower = max(from, 1)
        let upper = min(to, currentRevision)
        guard lower <= upper else { return [] }
        return log[Int(lower - 1)..<Int(upper)].flatMap { $0 }.filter { watchTestMatches(range, $0.kv.key) }
    }
}

/// An independent reading of etcd's range encoding, for expectations.
func watchTestMatches(_ range: KeyRange, _ key: [UInt8]) -> Bool {
    let start = range.key.isEmpty ? [0] : range.key
    if range.rangeEnd.isEmpty { return key == start }
    if range.rangeEnd == [0] { return !key.lexicographicallyPrecedes(start) }
    return !key.lexicographicallyPrecedes(start) && key.lexicographicallyPrecedes(range.rangeEnd)
}

func watchBytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func watchKey(_ s: String) -> KeyRange { KeyRange(key: watchBytes(s)) }

func watchPrefix(_ s: String) -> KeyRange {
    var end = watchBytes(s)
    end[end.count - 1] += 1
    return KeyRange(key: watchBytes(s), rangeEnd: end)
}

/// A store plus a hub, wired like the server will: every write is applied to
/// the history, then the hub is notified with that revision's events.
struct WatchRig {
    var history = WatchFakeHistory()
    var hub: WatchHub
    /// Everything drained so far, per stream, in order.
    var received: [WatchStreamID: [WatchResponse]] = [:]

    init(configuration: WatchHub.Configuration = .init()) {
        hub = WatchHub(currentRevision: 0, configuration: configuration)
    }

    mutating func txn(_ ops: [WatchFakeHistory.Op]) {
        let events = history.txn(ops)
        hub.notify(events: events, revision: history.currentRevision)
    }

    mutating func put(_ key: String, _ value: String) { txn([.put(key, value)]) }

    mutating func delete(_ key: String) { txn([.delete(key)]) }

    mutating func watch(
        _ range: KeyRange, on stream: WatchStreamID, from start: Int64 = 0, id: WatchID = 0,
        filters: WatchFilters = [], prevKv: Bool = false, progressNotify: Bool = false,
        fragment: Bool = false
    ) -> WatchID {
        let request = WatchCreateRequest(
            range: range, startRevision: start, progressNotify: progressNotify, filters: filters,
            prevKv: prevKv, watchID: id, fragment: fragment)
        guard case .success(let id) = hub.createWatcher(request, on: stream, history: history) else {
            Issue.record("watch refused")
            return -1
        }
        return id
    }

    @discardableResult
    mutating func drain(_ stream: WatchStreamID) -> [WatchResponse] {
        let responses = hub.drain(stream)
        received[stream, default: []].append(contentsOf: responses)
        return responses
    }

    /// Drains every stream and syncs until nothing is unsynced (bounded).
    mutating func settle(streams: [WatchStreamID], maxEvents: Int = 1000) {
        for _ in 0..<10_000 {
            for stream in streams { drain(stream) }
            if hub.unsyncedWatcherCount == 0 { break }
            hub.syncUnsynced(history: history, maxEvents: maxEvents)
        }
        for stream in streams { drain(stream) }
    }

    /// The events received for `id` on `stream`, in order.
    func events(_ id: WatchID, on stream: WatchStreamID) -> [Event] {
        (received[stream] ?? []).filter { $0.watchID == id }.flatMap(\.events)
    }

    /// What `id` should have seen: every event in `range` from `start` on.
    func expected(_ range: KeyRange, from start: Int64, filters: WatchFilters = [], prevKv: Bool = false)
        -> [Event]
    {
        history.log.joined().filter { event in
            event.kv.modRevision >= start && watchTestMatches(range, event.kv.key)
                && (event.kind == .put ? !filters.contains(.noPut) : !filters.contains(.noDelete))
        }.map { event in
            var event = event
            if !prevKv { event.prevKv = nil }
            return event
        }
    }
}

/// Checks the per-watcher shape of a stream's responses: event responses in
/// strictly increasing revision order, no revision split across responses
/// (fragments aside), every response's events sorted by revision.
func watchCheckWellFormed(_ responses: [WatchResponse], sourceLocation: SourceLocation = #_sourceLocation) {
    var lastRevision: [WatchID: Int64] = [:]
    var inFragment: [WatchID: Bool] = [:]
    for response in responses where !response.events.isEmpty {
        let revisions = response.events.map(\.kv.modRevision)
        #expect(revisions == revisions.sorted(), sourceLocation: sourceLocation)
        let continuing = inFragment[response.watchID] ?? false
        if let last = lastRevision[response.watchID] {
            if continuing {
                #expect(revisions.first! >= last, sourceLocation: sourceLocation)
            } else {
                #expect(revisions.first! > last, "revision split or repeated", sourceLocation: sourceLocation)
            }
        }
        lastRevision[response.watchID] = revisions.last!
        inFragment[response.watchID] = response.fragment
        #expect(response.headerRevision >= revisions.last!, sourceLocation: sourceLocation)
    }
}

/// Compares event lists, reporting a short summary instead of a dump.
func watchExpectEvents(
    _ actual: [Event], _ expected: [Event], _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual != expected else { return }
    let firstDiff = (0..<min(actual.count, expected.count)).first { actual[$0] != expected[$0] } ?? min(actual.count, expected.count)
    func describe(_ events: [Event]) -> String {
        events[firstDiff..<min(events.count, firstDiff + 5)]
            .map { "\($0.kind)@\($0.kv.modRevision):\(String(decoding: $0.kv.key, as: UTF8.self))" }
            .joined(separator: " ")
    }
    Issue.record(
        """
        \(what) events differ: got \(actual.count), want \(expected.count); first difference at \(firstDiff): \
        got [\(describe(actual))] want [\(describe(expected))]
        """,
        sourceLocation: sourceLocation)
}

// MARK: - Ordering and completeness

@Suite("WatchHub delivery")
struct WatchHubDeliveryTests {
    @Test func singleKeyWatcherSeesItsPutsAndDeletes() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let id = rig.watch(watchKey("a"), on: stream)
        #expect(id == 0)
        rig.put("a", "1")
        rig.put("b", "x")
        rig.put("a", "2")
        rig.delete("a")
        let responses = rig.drain(stream)
        #expect(responses.first == WatchResponse(watchID: 0, headerRevision: 0, created: true))
        #expect(responses.count == 4)
        #expect(responses.dropFirst().map(\.headerRevision) == [1, 3, 4])
        watchExpectEvents(rig.events(id, on: stream), rig.expected(watchKey("a"), from: 1))
        #expect(rig.events(id, on: stream).map(\.kind) == [.put, .put, .delete])
    }

    @Test func manyWritesOverlappingWatchersEachSeeExactlyTheirEventsOnce() {
        var rig = WatchRig()
        let s1 = rig.hub.openStream()
        let s2 = rig.hub.openStream()
        let ranges: [(WatchStreamID, KeyRange)] = [
            (s1, watchKey("k/3")),
            (s1, watchPrefix("k/")),
            (s1, KeyRange(key: watchBytes("k/5"), rangeEnd: [0])),  // from-key
            (s2, KeyRange(key: watchBytes("k/2"), rangeEnd: watchBytes("k/6"))),
            (s2, watchKey("k/3")),  // same key, other stream
            (s2, KeyRange(key: [], rangeEnd: [0])),  // everything
            (s2, watchKey("zzz")),  // never written
        ]
        var ids: [(WatchStreamID, WatchID, KeyRange)] = []
        for (stream, range) in ranges {
            ids.append((stream, rig.watch(range, on: stream), range))
        }
        // A deterministic mix of puts, deletes and multi-key transactions.
        var seed: UInt64 = 42
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(seed >> 33)
        }
        for step in 0..<400 {
            let key = "k/\(next() % 9)"
            switch next() % 5 {
            case 0 where rig.history.exists(key):
                rig.delete(key)
            case 1:
                rig.txn([.put(key, "t\(step)"), .put("k/\(next() % 9)", "u\(step)"), .put("x/\(step % 3)", "v")])
            default:
                rig.put(key, "v\(step)")
            }
            if step % 7 == 0 { rig.drain(s1) }
            if step % 11 == 0 { rig.drain(s2) }
        }
        rig.settle(streams: [s1, s2])
        for (stream, id, range) in ids {
            watchExpectEvents(rig.events(id, on: stream), rig.expected(range, from: 1), "watcher \(id) on \(stream)")
        }
        #expect(rig.events(ids[5].1, on: s2).count == rig.history.log.joined().count)
        #expect(rig.events(ids[6].1, on: s2).isEmpty)
        watchCheckWellFormed(rig.received[s1]!)
        watchCheckWellFormed(rig.received[s2]!)
        // Live delivery: one response per revision per watcher.
        for response in rig.received[s1]! + rig.received[s2]! where !response.events.isEmpty {
            #expect(Set(response.events.map(\.kv.modRevision)).count == 1)
        }
    }

    @Test func transactionEventsArriveInOneResponse() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let id = rig.watch(watchPrefix("t/"), on: stream)
        rig.put("t/0", "seed")
        rig.txn([.put("t/1", "a"), .put("other", "b"), .delete("t/0"), .put("t/2", "c")])
        let responses = rig.drain(stream).filter { !$0.events.isEmpty }
        #expect(responses.count == 2)
        #expect(responses[1].events.map { String(decoding: $0.kv.key, as: UTF8.self) } == ["t/1", "t/0", "t/2"])
        #expect(responses[1].events.map(\.kind) == [.put, .delete, .put])
        #expect(Set(responses[1].events.map(\.kv.modRevision)) == [2])
        #expect(responses[1].headerRevision == 2)
        watchExpectEvents(rig.events(id, on: stream), rig.expected(watchPrefix("t/"), from: 1))
    }

    @Test func filtersDropEventKindsAndEmptyResultsSendNothing() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let noPut = rig.watch(watchPrefix("f/"), on: stream, filters: .noPut)
        let noDelete = rig.watch(watchPrefix("f/"), on: stream, filters: .noDelete)
        let neither = rig.watch(watchPrefix("f/"), on: stream, filters: [.noPut, .noDelete])
        rig.put("f/a", "1")
        rig.put("f/b", "2")
        rig.delete("f/a")
        rig.txn([.put("f/c", "3"), .delete("f/b")])
        let responses = rig.drain(stream)
        #expect(rig.events(noPut, on: stream).map(\.kind) == [.delete, .delete])
        watchExpectEvents(rig.events(noPut, on: stream), rig.expected(watchPrefix("f/"), from: 1, filters: .noPut))
        watchExpectEvents(rig.events(noDelete, on: stream), rig.expected(watchPrefix("f/"), from: 1, filters: .noDelete))
        #expect(responses.filter { $0.watchID == neither }.count == 1)  // only "created"
        // The mixed txn is split by kind but each watcher still gets one response.
        #expect(responses.filter { $0.watchID == noPut && $0.headerRevision == 4 }.count == 1)
    }

    @Test func prevKvOnlyWhenRequested() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let plain = rig.watch(watchKey("p"), on: stream)
        let withPrev = rig.watch(watchKey("p"), on: stream, prevKv: true)
        rig.put("p", "1")
        rig.put("p", "2")
        rig.delete("p")
        rig.drain(stream)
        #expect(rig.events(plain, on: stream).allSatisfy { $0.prevKv == nil })
        let prevs = rig.events(withPrev, on: stream).map { $0.prevKv.map { String(decoding: $0.value, as: UTF8.self) } }
        #expect(prevs == [nil, "1", "2"])
        watchExpectEvents(rig.events(withPrev, on: stream), rig.expected(watchKey("p"), from: 1, prevKv: true))
    }

    @Test func futureStartRevisionWaitsForIt() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        rig.put("a", "1")
        let id = rig.watch(watchKey("a"), on: stream, from: 4)
        #expect(rig.hub.isSynced(id, on: stream) == true)
        rig.put("a", "2")  // rev 2
        rig.put("a", "3")  // rev 3
        rig.put("a", "4")  // rev 4
        rig.put("a", "5")  // rev 5
        rig.drain(stream)
        #expect(rig.events(id, on: stream).map(\.kv.modRevision) == [4, 5])
    }

    @Test func emptyRangeIsRefused() {
        var rig = WatchRig()
        let stream = rig.hub.openStream()
        let result = rig.hub.createWatcher(
            WatchCreateRequest(range: KeyRange(key: watchBytes("b"), rangeEnd: watchBytes("a"))),
            on: stream, history: rig.history)
        #expect(result == .failure(.emptyRange))
        #expect(
            rig.drain(stream) == [
                WatchResponse(
                    watchID: -1, headerRevision: 0, created: true, canceled: true,
                    cancelReason: "mvcc: watcher range is empty")
            ])
        #expect(rig.hub.watcherCount == 0)
    }

    @Test func sameCallSequenceGivesSameResponses() {
        func run() -> [WatchResponse] {
            var rig = WatchRig(configuration: .init(streamCapacity: 3))
            let stream = rig.hub.openStream()
            for i in 0..<6 { _ = rig.watch(i % 2 == 0 ? watchPrefix("d/") : watchKey("d/\(i)"), on: stream) }
            for i in 0..<30 { rig.put("d/\(i % 6)", "\(i)") }
            rig.settle(streams: [stream], maxEvents: 4)
            return rig.received[stream]!
        }
        #expect(run() == run())
    }
}

extension WatchFakeHistory {
    /// Whether `key` currently exists.
    func exists(_ key: String) -> Bool { live[watchBytes(key)] != nil }
}
