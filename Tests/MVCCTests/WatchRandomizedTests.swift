import Testing

@testable import MVCC

/// Seeded random schedules of everything a server does to the hub at once —
/// writes, transactions, compactions, watchers created from the past, present
/// and future, cancels, stream closes, slow and partial drains, catch-up with
/// small batches, progress requests and ticks — checked against the history.
@Suite("WatchHub randomized schedules")
struct WatchRandomizedTests {
    struct Rng {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    struct Tracked {
        let stream: WatchStreamID
        let id: WatchID
        let range: KeyRange
        let start: Int64
        let filters: WatchFilters
        let prevKv: Bool
        var canceledByClient = false
    }

    static let keys = ["a", "b", "b/1", "b/2", "c", "c/x", "d"]
    static let ranges: [KeyRange] = [
        watchKey("a"), watchKey("b/1"), watchPrefix("b"), watchPrefix("c/"),
        KeyRange(key: watchBytes("b"), rangeEnd: watchBytes("c/y")), KeyRange(key: [], rangeEnd: [0]),
        KeyRange(key: watchBytes("c"), rangeEnd: [0]),
    ]

    @Test(arguments: Array(1...12) as [UInt64])
    func randomScheduleKeepsEveryGuarantee(seed: UInt64) {
        var rng = Rng(state: seed)
        var rig = WatchRig(
            configuration: .init(streamCapacity: 1 + rng.next(4), maxResponseBytes: 150, maxWatchersPerSync: 1 + rng.next(3)))
        var streams: [WatchStreamID] = (0..<3).map { _ in rig.hub.openStream() }
        var closed: Set<WatchStreamID> = []
        var tracked: [Tracked] = []

        for _ in 0..<1500 {
            switch rng.next(20) {
            case 0..<7:
                rig.put(Self.keys[rng.next(Self.keys.count)], String(repeating: "v", count: rng.next(40)))
            case 7:
                let key = Self.keys[rng.next(Self.keys.count)]
                if rig.history.exists(key) { rig.delete(key) }
            case 8:
                rig.txn((0..<(1 + rng.next(4))).map { _ in .put(Self.keys[rng.next(Self.keys.count)], "t") })
            case 9, 10:
                let stream = streams[rng.next(streams.count)]
                let current = rig.history.currentRevision
                let start: Int64 =
                    switch rng.next(4) {
                    case 0: 0
                    case 1: current + 1 + Int64(rng.next(3))
                    default: max(1, current - Int64(rng.next(40)))
                    }
                let range = Self.ranges[rng.next(Self.ranges.count)]
                let filters: WatchFilters = [[], [], .noPut, .noDelete][rng.next(4)]
                let prevKv = rng.next(2) == 0
                let request = WatchCreateRequest(
                    range: range, startRevision: start, progressNotify: rng.next(2) == 0, filters: filters,
                    prevKv: prevKv, fragment: rng.next(3) == 0)
                if case .success(let id) = rig.hub.createWatcher(request, on: stream, history: rig.history) {
                    tracked.append(
                        Tracked(
                            stream: stream, id: id, range: range, start: start > 0 ? start : current + 1,
                            filters: filters, prevKv: prevKv))
                }
            case 11 where rng.next(3) == 0:
                let live = tracked.indices.filter { !tracked[$0].canceledByClient && !closed.contains(tracked[$0].stream) }
                if let index = live.isEmpty ? nil : live[rng.next(live.count)] {
                    if (try? rig.hub.cancelWatcher(tracked[index].id, on: tracked[index].stream)) != nil {
                        tracked[index].canceledByClient = true
                    }
                }
            case 12 where rng.next(6) == 0:
                let target = rig.history.currentRevision - 20 - Int64(rng.next(30))
                if target > rig.history.compactedRevision { rig.history.compactedRevision = target }
            case 13:
                rig.hub.requestProgress(on: streams[rng.next(streams.count)])
            case 14:
                rig.hub.progressTick()
            case 15, 16:
                rig.hub.syncUnsynced(history: rig.history, maxEvents: 1 + rng.next(6))
            case 17 where rng.next(10) == 0 && streams.count > 1:
                let stream = streams.remove(at: rng.next(streams.count))
                rig.drain(stream)  // what was sent before the close
                rig.hub.closeStream(stream)
                closed.insert(stream)
                streams.append(rig.hub.openStream())
            default:
                let stream = streams[rng.next(streams.count)]
                rig.received[stream, default: []].append(contentsOf: rig.hub.drain(stream, maxResponses: 1 + rng.next(3)))
            }
        }
        rig.settle(streams: streams)
        #expect(rig.hub.unsyncedWatcherCount == 0)

        for stream in rig.received.keys {
            let responses = rig.received[stream]!
            watchCheckWellFormed(responses)
            var expectedByID: [WatchID: [Event]] = [:]
            for watcher in tracked where watcher.stream == stream {
                let mine = responses.filter { $0.watchID == watcher.id }
                let stoppedEarly = watcher.canceledByClient || mine.contains { $0.compactRevision > 0 }
                // A watcher that stopped early is owed only what it got.
                expectedByID[watcher.id] =
                    stoppedEarly
                    ? mine.flatMap(\.events)
                    : rig.expected(watcher.range, from: watcher.start, filters: watcher.filters, prevKv: watcher.prevKv)
            }
            _ = watchCheckProgressNeverOvertakes(responses, expected: expectedByID)
        }
        for watcher in tracked {
            let responses = (rig.received[watcher.stream] ?? []).filter { $0.watchID == watcher.id }
            #expect(responses.first?.created == true)
            let events = responses.flatMap(\.events)
            let expected = rig.expected(watcher.range, from: watcher.start, filters: watcher.filters, prevKv: watcher.prevKv)
            let canceledAt = responses.firstIndex { $0.canceled }
            if let canceledAt {
                #expect(canceledAt == responses.count - 1, "nothing after canceled")
            }
            let compacted = responses.last?.compactRevision ?? 0
            if watcher.canceledByClient || compacted > 0 || closed.contains(watcher.stream) {
                // Stopped early: what arrived is an exact prefix.
                watchExpectEvents(events, Array(expected.prefix(events.count)), "prefix of \(watcher.id)")
                if compacted > 0 {
                    #expect(events.last.map { $0.kv.modRevision < compacted + 1 } ?? true)
                }
            } else {
                watchExpectEvents(events, expected, "watcher \(watcher.id) on \(watcher.stream)")
            }
        }
    }
}
