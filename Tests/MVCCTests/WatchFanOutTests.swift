import Testing

@testable import MVCC

/// The hub driven the way the server drives it: writes notify, a sender
/// drains at most 64 responses per wake-up and lags behind, a timer syncs.
@Suite struct WatchFanOutTests {
    @Test func everyWatcherGetsEveryWriteWhileConsumersLag() throws {
        var store = KVStore()
        var hub = WatchHub(currentRevision: store.currentRevision)
        var streams: [WatchStreamID] = []
        var seen: [WatchStreamID: [WatchID: [Int64]]] = [:]
        for _ in 0..<10 {
            let s = hub.openStream()
            streams.append(s)
            for _ in 0..<100 {
                _ = hub.createWatcher(
                    WatchCreateRequest(range: KeyRange(key: Array("fan/".utf8), rangeEnd: Array("fan0".utf8)), startRevision: 2),
                    on: s, history: store)
            }
        }
        // A sender wakes when its stream is signalled, drains 64 responses,
        // and signals itself again while responses remain (as the server's).
        var signalled = Set<WatchStreamID>()
        func drain(_ s: WatchStreamID) {
            for r in hub.drain(s, maxResponses: 64) {
                for e in r.events { seen[s, default: [:]][r.watchID, default: []].append(e.kv.modRevision) }
            }
            if hub.pendingResponseCount(s) > 0 { signalled.insert(s) } else { signalled.remove(s) }
        }
        func wake() { signalled.formUnion(hub.takeReadyStreams()) }
        for i in 0..<1000 {
            let (_, events) = try store.put(PutRequest(key: Array("fan/\(i % 37)".utf8), value: Array("\(i)".utf8)))
            hub.notify(events: events, revision: store.currentRevision)
            // Consumers drain only every seventh write; a timer syncs every tenth.
            wake()
            if i % 7 == 0 { for s in signalled.sorted() { drain(s) } }
            if i % 10 == 0 { hub.syncUnsynced(history: store); wake() }
        }
        // Settle: drain and sync until nothing moves (bounded).
        for _ in 0..<10_000 {
            hub.syncUnsynced(history: store)
            wake()
            if signalled.isEmpty && hub.unsyncedWatcherCount == 0 { break }
            for s in signalled.sorted() { drain(s) }
        }
        let expected = Array(Int64(2)...Int64(1001))
        var watchers = 0
        var wrong = 0
        for s in streams {
            for (_, revisions) in seen[s] ?? [:] {
                watchers += 1
                if revisions != expected {
                    wrong += 1
                    if wrong < 4 {
                        var gaps: [Int64] = []
                        var dups = 0
                        for (a, b) in zip(revisions, revisions.dropFirst()) {
                            if b == a { dups += 1 } else if b != a + 1 { gaps.append(a) }
                        }
                        Issue.record("count \(revisions.count) last \(revisions.last ?? 0) dups \(dups) gapsAfter \(gaps.prefix(5)) unsynced \(hub.unsyncedWatcherCount)")
                    }
                }
            }
        }
        #expect(watchers == 1000)
        #expect(wrong == 0)
    }
}
