import Foundation
import Testing
@testable import EtcdServer
import MVCC
import Storage

/// The on-disk MVCC backend: what is committed comes back identical,
/// compacted revisions are pruned in batches, and the applied index
/// travels in the same transaction as the data.
@Suite struct MVCCBackendTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func tempPath() throws -> (dir: URL, path: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backend-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (dir, dir.appendingPathComponent("db").path)
    }

    @Test func committedStateReloadsIdentically() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        var store = KVStore()
        let backend = try MVCCBackend(path: path)
        #expect(try backend.load() == nil)

        for i in 0..<30 { _ = try store.put(PutRequest(key: Self.b("k\(i % 7)"), value: Self.b("v\(i)"))) }
        _ = store.deleteRange(DeleteRangeRequest(key: Self.b("k3")))
        let lease = try store.grantLease(id: 42, ttl: 300)
        backend.leaseGranted(id: lease.id, ttl: lease.ttl)
        _ = try store.put(PutRequest(key: Self.b("leased"), value: Self.b("x"), lease: 42))
        let members = [Member(id: 1, name: "a", peerURLs: ["http://127.0.0.1:1"], clientURLs: [], isLearner: false)]
        backend.clusterStateChanged()
        try backend.commit(
            store: store, members: members, alarms: [AlarmMember(memberID: 1, alarm: .noSpace)], appliedIndex: 17)
        backend.close()

        let reopened = try MVCCBackend(path: path)
        let loaded = try #require(try reopened.load())
        #expect(loaded.consistentIndex == 17)
        #expect(loaded.members == members)
        #expect(loaded.alarms == [AlarmMember(memberID: 1, alarm: .noSpace)])
        #expect(loaded.store.snapshot() == store.snapshot())
    }

    @Test func compactionPrunesInBatchesAndReloads() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        var store = KVStore()
        let backend = try MVCCBackend(path: path)
        for i in 0..<500 { _ = try store.put(PutRequest(key: Self.b("k\(i % 10)"), value: Self.b("v\(i)"))) }
        try backend.commit(store: store, members: [], alarms: [], appliedIndex: 500)
        try store.compact(store.currentRevision - 5)
        try backend.commit(store: store, members: [], alarms: [], appliedIndex: 501)
        // 500 versions, batches of 100: several passes, each bounded.
        var passes = 0
        while try backend.pruneCompacted(store: store, limit: 100) {
            passes += 1
            if passes > 20 { break }
        }
        #expect(passes >= 4)
        backend.close()

        let loaded = try #require(try MVCCBackend(path: path).load())
        #expect(loaded.store.snapshot() == store.snapshot())
        // Only what the compacted store retains is left: 10 keys' newest
        // versions at or below the compaction plus the 5 newer ones.
        #expect(loaded.store.allVersions().count == store.allVersions().count)
        #expect(store.allVersions().count <= 15)
    }

    @Test func releasedValuesAreReadFromTheBackend() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let backend = try MVCCBackend(path: path)
        var store = KVStore()
        store.valueSource = backend
        var reference = KVStore()
        for i in 0..<200 {
            let put = PutRequest(key: Self.b("k\(i % 40)"), value: Array(repeating: UInt8(i), count: 100 + i))
            _ = try store.put(put)
            _ = try reference.put(put)
            if i % 50 == 49 {
                try backend.commit(store: store, members: [], alarms: [], appliedIndex: UInt64(i))
                store.markPersisted(through: backend.committedRevision)
            }
        }
        try store.compact(150)
        try reference.compact(150)
        try backend.commit(store: store, members: [], alarms: [], appliedIndex: 500)
        var passes = 0
        while try backend.pruneCompacted(store: store, limit: 50), passes < 100 { passes += 1 }
        let all = RangeRequest(key: [0], rangeEnd: [0])
        #expect(try store.range(all) == (try reference.range(all)))
        #expect(try store.range(RangeRequest(key: [0], rangeEnd: [0], revision: 160)) == (try reference.range(RangeRequest(key: [0], rangeEnd: [0], revision: 160))))
        let history = KeyRange(key: [0], rangeEnd: [0])
        #expect(try store.events(in: history, from: 150, to: 201) == (try reference.events(in: history, from: 150, to: 201)))
        #expect(try store.hashKV(revision: 0) == (try reference.hashKV(revision: 0)))
    }

    /// A compaction applied before the backend commit that would have
    /// written the versions below it must not keep those versions from the
    /// backend: they are still what reads at and after the compaction see.
    @Test func versionsWrittenJustBeforeACompactionReachTheBackend() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let backend = try MVCCBackend(path: path)
        var store = KVStore()
        store.valueSource = backend
        _ = try store.put(PutRequest(key: Self.b("a"), value: Self.b("1")))
        try backend.commit(store: store, members: [], alarms: [], appliedIndex: 1)
        store.markPersisted(through: backend.committedRevision)
        _ = try store.put(PutRequest(key: Self.b("a"), value: Self.b("2")))  // rev 3
        _ = try store.put(PutRequest(key: Self.b("b"), value: Self.b("3")))  // rev 4
        try store.compact(store.currentRevision)
        try backend.commit(store: store, members: [], alarms: [], appliedIndex: 4)
        store.markPersisted(through: backend.committedRevision)
        #expect(try store.range(RangeRequest(key: Self.b("a"))).kvs.first?.value == Self.b("2"))
        backend.close()
        let loaded = try #require(try MVCCBackend(path: path).load())
        #expect(try loaded.store.range(RangeRequest(key: Self.b("a"))).kvs.first?.value == Self.b("2"))
        #expect(try loaded.store.range(RangeRequest(key: Self.b("b"))).kvs.first?.value == Self.b("3"))
    }

    @Test func garbageIsAClearError() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(repeating: 7, count: 10_000).write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self) { try MVCCBackend(path: path) }
    }
}
