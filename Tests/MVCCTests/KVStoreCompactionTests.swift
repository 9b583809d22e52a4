import Testing
@testable import MVCC

@Suite struct KVStoreCompactionTests {
    typealias F = KVFixture

    /// a@2, b@3, a@4, delete b@5, c@6, a@7.
    private static func store() throws -> KVStore {
        var s = KVStore()
        try F.put(&s, "a", "a2")
        try F.put(&s, "b", "b3")
        try F.put(&s, "a", "a4")
        _ = s.deleteRange(DeleteRangeRequest(key: F.b("b")))
        try F.put(&s, "c", "c6")
        try F.put(&s, "a", "a7")
        return s
    }

    @Test func compactBoundaries() throws {
        var s = try Self.store()
        #expect(throws: MVCCError.futureRevision) { try s.compact(8) }
        try s.compact(5)
        #expect(s.compactedRevision == 5)
        #expect(throws: MVCCError.compacted) { try s.compact(5) }
        #expect(throws: MVCCError.compacted) { try s.compact(4) }
        try s.compact(7)
        #expect(s.compactedRevision == 7)
    }

    @Test func aFreshStoreCanCompactAtZeroOnce() throws {
        var s = KVStore()
        try s.compact(0)
        #expect(throws: MVCCError.compacted) { try s.compact(0) }
        try s.compact(1)
        #expect(s.compactedRevision == 1)
    }

    @Test func readsAtTheCompactedRevisionStillWork() throws {
        var s = try Self.store()
        try s.compact(5)
        let atFive = try s.range(RangeRequest(key: [0], rangeEnd: [0], revision: 5))
        #expect(F.keys(atFive) == ["a"])
        #expect(atFive.kvs.first?.value == F.b("a4"))
        #expect(atFive.kvs.first?.version == 2)
        #expect(throws: MVCCError.compacted) { try s.range(RangeRequest(key: F.b("a"), revision: 4)) }
        #expect(try F.get(s, "a", rev: 6)?.value == F.b("a4"))
        #expect(try F.get(s, "a")?.value == F.b("a7"))
        #expect(try F.get(s, "a")?.createRevision == 2)
        #expect(try F.get(s, "c", rev: 6)?.value == F.b("c6"))
    }

    @Test func compactionForgetsHistoryAndDeletedKeys() throws {
        var s = try Self.store()
        try s.compact(5)
        #expect(s.index[F.b("b")] == nil)  // its generation ended at 5
        #expect(s.index[F.b("a")]?.entries.map(\.revision.main) == [4, 7])
        // The compacted revision's own record stays: it can still be watched.
        #expect(s.log.records.map(\.revision.main) == [5, 6, 7])
        try s.compact(7)
        #expect(s.index[F.b("a")]?.entries.map(\.revision.main) == [7])
        #expect(s.index.count == 2)
    }

    @Test func aTxnRangeBelowTheCompactedRevisionFails() throws {
        var s = try Self.store()
        try s.compact(5)
        #expect(throws: MVCCError.compacted) {
            try s.txn(TxnRequest(success: [.range(RangeRequest(key: F.b("a"), revision: 4))]))
        }
        let ok = try s.txn(TxnRequest(success: [.range(RangeRequest(key: F.b("a"), revision: 5))])).0
        guard case .range(let r) = ok.responses.first else { Issue.record("no range"); return }
        #expect(r.kvs.first?.value == F.b("a4"))
    }

    @Test func eventsReplayHistoryWithPreviousVersions() throws {
        let s = try Self.store()
        let all = try s.events(in: KeyRange(key: [0], rangeEnd: [0]), from: 1, to: 100)
        #expect(all.map(\.kv.modRevision) == [2, 3, 4, 5, 6, 7])
        #expect(all.map(\.kind) == [.put, .put, .put, .delete, .put, .put])
        #expect(all[3].kv == KeyValue(key: F.b("b"), createRevision: 0, modRevision: 5, version: 0, value: []))
        #expect(all[3].prevKv?.value == F.b("b3"))
        #expect(all[2].prevKv?.value == F.b("a2"))
        #expect(all[0].prevKv == nil)

        let onlyA = try s.events(in: KeyRange(key: F.b("a")), from: 3, to: 6)
        #expect(onlyA.map(\.kv.modRevision) == [4])
        let prefix = try s.events(in: KeyRange(key: F.b("b"), rangeEnd: F.b("d")), from: 4, to: 7)
        #expect(prefix.map(\.kv.modRevision) == [5, 6])
        #expect(try s.events(in: KeyRange(key: [0], rangeEnd: [0]), from: 8, to: 9).isEmpty)
    }

    @Test func eventsOfATxnComeInSubRevisionOrder() throws {
        var s = KVStore()
        _ = try s.txn(TxnRequest(success: [
            .put(PutRequest(key: F.b("z"), value: F.b("1"))),
            .put(PutRequest(key: F.b("a"), value: F.b("2"))),
        ]))
        let events = try s.events(in: KeyRange(key: [0], rangeEnd: [0]), from: 2, to: 2)
        #expect(events.map(\.kv.key) == [F.b("z"), F.b("a")])
    }

    @Test func eventsBelowTheCompactionAreGone() throws {
        var s = try Self.store()
        try s.compact(5)
        #expect(throws: MVCCError.compacted) { try s.events(in: KeyRange(key: F.b("a")), from: 4, to: 7) }
        // etcd still serves a watch from the compacted revision itself.
        #expect(try s.events(in: KeyRange(key: F.b("a")), from: 5, to: 7).map(\.kv.modRevision) == [7])
        let after = try s.events(in: KeyRange(key: [0], rangeEnd: [0]), from: 6, to: 7)
        #expect(after.map(\.kv.modRevision) == [6, 7])
        // The version kept at the compaction point still serves as prevKv.
        #expect(after[1].prevKv?.value == F.b("a4"))
    }
}
