import Testing
@testable import MVCC

@Suite struct KVStoreRangeTests {
    typealias F = KVFixture

    /// a..e put in order (revisions 2...6), then "c" updated (7) and "a" updated twice (8, 9).
    private static func store() throws -> KVStore {
        var s = KVStore()
        for (k, v) in [("a", "5"), ("b", "4"), ("c", "3"), ("d", "2"), ("e", "1")] { try F.put(&s, k, v) }
        try F.put(&s, "c", "33")
        try F.put(&s, "a", "55")
        try F.put(&s, "a", "555")
        return s
    }

    @Test func singleKeyHalfOpenRangeFromKeyAndAll() throws {
        let s = try Self.store()
        #expect(F.keys(try s.range(RangeRequest(key: F.b("b")))) == ["b"])
        #expect(F.keys(try s.range(RangeRequest(key: F.b("bb")))) == [])
        #expect(F.keys(try s.range(RangeRequest(key: F.b("b"), rangeEnd: F.b("d")))) == ["b", "c"])
        #expect(F.keys(try s.range(RangeRequest(key: F.b("c"), rangeEnd: [0]))) == ["c", "d", "e"])
        #expect(F.keys(try s.range(RangeRequest(key: [0], rangeEnd: [0]))) == ["a", "b", "c", "d", "e"])
        // An end at or before the start selects nothing.
        #expect(try s.range(RangeRequest(key: F.b("d"), rangeEnd: F.b("b"))).count == 0)
    }

    @Test func limitReportsMoreAndTheFullCount() throws {
        let s = try Self.store()
        let r = try s.range(RangeRequest(key: [0], rangeEnd: [0], limit: 2))
        #expect(F.keys(r) == ["a", "b"])
        #expect(r.more)
        #expect(r.count == 5)
        let exact = try s.range(RangeRequest(key: [0], rangeEnd: [0], limit: 5))
        #expect(!exact.more && exact.kvs.count == 5)
    }

    @Test func countOnlyAndKeysOnly() throws {
        let s = try Self.store()
        let counted = try s.range(RangeRequest(key: F.b("b"), rangeEnd: [0], countOnly: true))
        #expect(counted.kvs.isEmpty && counted.count == 4 && !counted.more)
        let keysOnly = try s.range(RangeRequest(key: F.b("a"), rangeEnd: F.b("c"), keysOnly: true))
        #expect(F.keys(keysOnly) == ["a", "b"])
        #expect(keysOnly.kvs.allSatisfy { $0.value.isEmpty })
        #expect(keysOnly.kvs[0].version == 3)
    }

    @Test func sortByEachTarget() throws {
        let s = try Self.store()
        func sorted(_ order: RangeRequest.SortOrder, _ target: RangeRequest.SortTarget) throws -> [String] {
            F.keys(try s.range(RangeRequest(key: [0], rangeEnd: [0], sortOrder: order, sortTarget: target)))
        }
        #expect(try sorted(.descend, .key) == ["e", "d", "c", "b", "a"])
        #expect(try sorted(.ascend, .value) == ["e", "d", "c", "b", "a"])  // "1" < "2" < "33" < "4" < "555"
        #expect(try sorted(.descend, .value) == ["a", "b", "c", "d", "e"])
        #expect(try sorted(.ascend, .mod) == ["b", "d", "e", "c", "a"])
        #expect(try sorted(.descend, .create) == ["e", "d", "c", "b", "a"])
        // Ties keep key order: versions are a=3, c=2, others 1.
        #expect(try sorted(.ascend, .version) == ["b", "d", "e", "c", "a"])
        #expect(try sorted(.descend, .version) == ["a", "c", "b", "d", "e"])
    }

    @Test func aNonKeyTargetWithoutOrderSortsAscending() throws {
        let s = try Self.store()
        let r = try s.range(RangeRequest(key: [0], rangeEnd: [0], sortOrder: .none, sortTarget: .mod))
        #expect(F.keys(r) == ["b", "d", "e", "c", "a"])
    }

    @Test func sortHappensBeforeLimit() throws {
        let s = try Self.store()
        let r = try s.range(RangeRequest(key: [0], rangeEnd: [0], limit: 2, sortOrder: .descend, sortTarget: .mod))
        #expect(F.keys(r) == ["a", "c"])
        #expect(r.more && r.count == 5)
    }

    @Test func revisionFiltersPruneButDoNotChangeCount() throws {
        let s = try Self.store()
        let mod = try s.range(RangeRequest(key: [0], rangeEnd: [0], minModRevision: 5, maxModRevision: 7))
        #expect(F.keys(mod) == ["c", "d", "e"])
        #expect(mod.count == 5)
        let create = try s.range(RangeRequest(key: [0], rangeEnd: [0], minCreateRevision: 3, maxCreateRevision: 4))
        #expect(F.keys(create) == ["b", "c"])
        let limited = try s.range(RangeRequest(key: [0], rangeEnd: [0], limit: 1, minModRevision: 5))
        #expect(F.keys(limited) == ["a"])
        #expect(limited.more)
    }

    @Test func readingAtAPastRevisionCountsKeysAsTheyWere() throws {
        let s = try Self.store()
        let r = try s.range(RangeRequest(key: [0], rangeEnd: [0], revision: 4))
        #expect(F.keys(r) == ["a", "b", "c"])
        #expect(r.kvs.map(\.value) == [F.b("5"), F.b("4"), F.b("3")])
        #expect(r.count == 3)
        #expect(r.revision == 9)
    }

    @Test func countsStayExactAcrossManyKeysWithDeletions() throws {
        var s = KVStore()
        for i in 0..<3_000 { try F.put(&s, "key/\(i)", "v") }
        // Deletes key/1, key/1x, key/1xx and key/1xxx: 1 + 10 + 100 + 1000 keys.
        let (deleted, _) = s.deleteRange(DeleteRangeRequest(key: F.b("key/1"), rangeEnd: F.b("key/2")))
        #expect(deleted.deleted == 1_111)
        let limited = try s.range(RangeRequest(key: F.b("key/"), rangeEnd: F.b("key0"), limit: 3))
        #expect(limited.count == 1_889)
        #expect(limited.more)
        #expect(F.keys(limited) == ["key/0", "key/2", "key/20"])
        // key/2 and its 1110 descendants, then key/3 ... key/9 with 111 each.
        let counted = try s.range(RangeRequest(key: F.b("key/2"), rangeEnd: [0], countOnly: true))
        #expect(counted.count == 1_111 + 7 * 111)
        #expect(s.keyCount == 1_889)
        // The same counts read back in time, key by key.
        let past = try s.range(RangeRequest(key: F.b("key/"), rangeEnd: F.b("key0"), limit: 3, revision: s.currentRevision - 1))
        #expect(past.count == 3_000)
    }
}
