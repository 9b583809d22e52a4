import Testing
@testable import MVCC

/// Shorthands shared by the KVStore test files (a namespace, so they
/// cannot collide with helpers of other test files in this target).
enum KVFixture {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @discardableResult
    static func put(_ store: inout KVStore, _ key: String, _ value: String, lease: Int64 = 0) throws -> PutResponse {
        try store.put(PutRequest(key: b(key), value: b(value), lease: lease)).0
    }

    static func get(_ store: KVStore, _ key: String, rev: Int64 = 0) throws -> KeyValue? {
        try store.range(RangeRequest(key: b(key), revision: rev)).kvs.first
    }

    static func keys(_ r: RangeResponse) -> [String] {
        r.kvs.map { String(decoding: $0.key, as: UTF8.self) }
    }
}

@Suite struct KVStoreTests {
    typealias F = KVFixture

    @Test func emptyStoreStartsAtRevisionOne() throws {
        let store = KVStore()
        #expect(store.currentRevision == 1)
        #expect(store.compactedRevision == 0)
        let r = try store.range(RangeRequest(key: [0], rangeEnd: [0]))
        #expect(r.kvs.isEmpty && r.count == 0 && r.revision == 1)
    }

    @Test func putCreatesVersionsWithinAGeneration() throws {
        var store = KVStore()
        let first = try F.put(&store, "a", "1")
        #expect(first.revision == 2)
        try F.put(&store, "a", "2")
        let kv = try #require(try F.get(store, "a"))
        #expect(kv.createRevision == 2)
        #expect(kv.modRevision == 3)
        #expect(kv.version == 2)
        #expect(kv.value == F.b("2"))
        #expect(store.currentRevision == 3)
    }

    @Test func putOfAnUnchangedValueStillMakesARevision() throws {
        var store = KVStore()
        try F.put(&store, "a", "same")
        let (resp, events) = try store.put(PutRequest(key: F.b("a"), value: F.b("same")))
        #expect(resp.revision == 3)
        #expect(events.count == 1)
        #expect(try F.get(store, "a")?.version == 2)
    }

    @Test func deletedAndRecreatedKeyStartsANewGeneration() throws {
        var store = KVStore()
        try F.put(&store, "k", "v1")  // 2
        try F.put(&store, "k", "v2")  // 3
        let (del, _) = store.deleteRange(DeleteRangeRequest(key: F.b("k")))  // 4
        #expect(del.deleted == 1 && del.revision == 4)
        #expect(try F.get(store, "k") == nil)
        try F.put(&store, "k", "v3")  // 5
        let kv = try #require(try F.get(store, "k"))
        #expect(kv.createRevision == 5)
        #expect(kv.version == 1)
        #expect(kv.modRevision == 5)
    }

    @Test func timeTravelSeesKeysAsTheyWere() throws {
        var store = KVStore()
        try F.put(&store, "k", "v1")  // 2
        try F.put(&store, "k", "v2")  // 3
        _ = store.deleteRange(DeleteRangeRequest(key: F.b("k")))  // 4
        try F.put(&store, "k", "v3")  // 5
        #expect(try F.get(store, "k", rev: 1) == nil)
        #expect(try F.get(store, "k", rev: 2)?.value == F.b("v1"))
        let atThree = try #require(try F.get(store, "k", rev: 3))
        #expect(atThree.value == F.b("v2") && atThree.version == 2 && atThree.createRevision == 2)
        #expect(try F.get(store, "k", rev: 4) == nil)
        #expect(try F.get(store, "k", rev: 5)?.value == F.b("v3"))
        // The header revision is the store's, whatever revision was read.
        #expect(try store.range(RangeRequest(key: F.b("k"), revision: 2)).revision == 5)
        #expect(throws: MVCCError.futureRevision) { try store.range(RangeRequest(key: F.b("k"), revision: 6)) }
    }

    @Test func deletingNothingMakesNoRevision() throws {
        var store = KVStore()
        try F.put(&store, "a", "1")
        let (resp, events) = store.deleteRange(DeleteRangeRequest(key: F.b("zzz")))
        #expect(resp.deleted == 0)
        #expect(resp.revision == 2)
        #expect(events.isEmpty)
        #expect(store.currentRevision == 2)
    }

    @Test func deleteRangeDeletesInOneRevisionWithEvents() throws {
        var store = KVStore()
        try F.put(&store, "a", "1")  // 2
        try F.put(&store, "b", "2")  // 3
        try F.put(&store, "c", "3")  // 4
        try F.put(&store, "d", "4")  // 5
        let (resp, events) = store.deleteRange(DeleteRangeRequest(key: F.b("b"), rangeEnd: F.b("d"), prevKv: true))
        #expect(resp.deleted == 2)
        #expect(resp.revision == 6)
        #expect(resp.prevKvs.map(\.value) == [F.b("2"), F.b("3")])
        #expect(events.map(\.kind) == [.delete, .delete])
        #expect(events[0].kv == KeyValue(key: F.b("b"), createRevision: 0, modRevision: 6, version: 0, value: []))
        #expect(events[1].kv.key == F.b("c"))
        #expect(events[0].prevKv?.value == F.b("2"))
        #expect(events[1].prevKv?.modRevision == 4)
        #expect(F.keys(try store.range(RangeRequest(key: [0], rangeEnd: [0]))) == ["a", "d"])
    }

    @Test func deleteFromKeyAndPrefix() throws {
        var store = KVStore()
        for k in ["a", "foo", "foo/1", "foo/2", "fop", "z"] { try F.put(&store, k, "x") }
        let (prefix, _) = store.deleteRange(DeleteRangeRequest(key: F.b("foo/"), rangeEnd: F.b("foo0")))
        #expect(prefix.deleted == 2)
        let (fromKey, _) = store.deleteRange(DeleteRangeRequest(key: F.b("fop"), rangeEnd: [0]))
        #expect(fromKey.deleted == 2)
        #expect(F.keys(try store.range(RangeRequest(key: [0], rangeEnd: [0]))) == ["a", "foo"])
        #expect(store.currentRevision == 9)
    }

    @Test func putOptions() throws {
        var store = KVStore()
        try F.put(&store, "a", "old")
        let (withPrev, _) = try store.put(PutRequest(key: F.b("a"), value: F.b("new"), prevKv: true))
        #expect(withPrev.prevKv?.value == F.b("old"))
        #expect(withPrev.prevKv?.modRevision == 2)
        let (firstPut, _) = try store.put(PutRequest(key: F.b("fresh"), value: F.b("v"), prevKv: true))
        #expect(firstPut.prevKv == nil)

        let (_, events) = try store.put(PutRequest(key: F.b("a"), ignoreValue: true))
        #expect(events.first?.kv.value == F.b("new"))
        #expect(try F.get(store, "a")?.value == F.b("new"))
        #expect(try F.get(store, "a")?.version == 3)
    }

    @Test func ignoreValueOrLeaseOnAMissingKeyFailsWithoutWriting() throws {
        var store = KVStore()
        try F.put(&store, "a", "1")
        #expect(throws: MVCCError.keyNotFound) { try store.put(PutRequest(key: F.b("missing"), ignoreValue: true)) }
        #expect(throws: MVCCError.keyNotFound) { try store.put(PutRequest(key: F.b("missing"), ignoreLease: true)) }
        #expect(store.currentRevision == 2)
        #expect(store.index["missing".utf8.map { $0 }] == nil)
        // A deleted key is missing too.
        _ = store.deleteRange(DeleteRangeRequest(key: F.b("a")))
        #expect(throws: MVCCError.keyNotFound) { try store.put(PutRequest(key: F.b("a"), ignoreValue: true)) }
        #expect(store.currentRevision == 3)
    }

    @Test func putWithAnUnknownLeaseFailsWithoutWriting() throws {
        var store = KVStore()
        #expect(throws: MVCCError.leaseNotFound) { try store.put(PutRequest(key: F.b("a"), value: F.b("v"), lease: 42)) }
        #expect(store.currentRevision == 1)
        #expect(try F.get(store, "a") == nil)
    }

    @Test func putEventsCarryThePreviousVersion() throws {
        var store = KVStore()
        let (_, first) = try store.put(PutRequest(key: F.b("a"), value: F.b("1")))
        #expect(first == [Event(kind: .put, kv: KeyValue(key: F.b("a"), createRevision: 2, modRevision: 2, version: 1, value: F.b("1")))])
        let (_, second) = try store.put(PutRequest(key: F.b("a"), value: F.b("2")))
        #expect(second.first?.prevKv?.value == F.b("1"))
        #expect(second.first?.kv.version == 2)
    }

    @Test func keyCountAndSizeFollowTheKeySpace() throws {
        var store = KVStore()
        let empty = store.approximateSize()
        try F.put(&store, "a", String(repeating: "x", count: 1000))
        try F.put(&store, "b", "1")
        #expect(store.keyCount == 2)
        #expect(store.approximateSize() >= empty + 1000)
        _ = store.deleteRange(DeleteRangeRequest(key: F.b("a")))
        #expect(store.keyCount == 1)
        try store.compact(store.currentRevision)
        #expect(store.approximateSize() < 1000)
    }
}
