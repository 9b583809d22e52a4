import Foundation
import Testing

@testable import MVCC

/// Values released from memory (`KVStore.markPersisted`) and read back
/// through a `ValueSource` must be invisible to clients: every answer,
/// event and hash equals that of a store that keeps everything in memory.
@Suite struct KVStoreValueReleaseTests {
    typealias F = KVFixture

    /// A backend stand-in: what the store's commits wrote, by revision, and
    /// a count of the reads made.
    final class MemorySource: ValueSource, @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Revision: [UInt8]] = [:]
        private(set) var calls = 0
        private(set) var valuesRead = 0

        /// Takes everything written since `after`, as a backend commit does;
        /// returns the newest revision taken.
        func commit(_ store: KVStore, after: Int64) -> Int64 {
            lock.withLock {
                for version in store.versions(after: after) where !version.isTombstone {
                    values[version.revision] = version.value
                }
            }
            return store.currentRevision
        }

        func values(at revisions: [Revision]) -> [[UInt8]] {
            lock.withLock {
                calls += 1
                valuesRead += revisions.count
                return revisions.map { values[$0] ?? Array("MISSING".utf8) }
            }
        }
    }

    /// Runs the same random requests on a store that keeps its values and
    /// on one that releases them after every few writes; every response,
    /// event list, history replay and hash must be equal.
    @Test(arguments: [11, 12, 13, 14, 15, 16] as [UInt64])
    func releasedValuesReadBackIdentically(seed: UInt64) throws {
        var rng = KVStoreModelTests.Rng(state: seed)
        let source = MemorySource()
        var kept = KVStore()
        var released = KVStore()
        released.valueSource = source
        var committed: Int64 = 0
        let keys = ["a", "b", "c", "d"]
        for step in 0..<300 {
            let key = F.b(keys[rng.next(keys.count)])
            let other = F.b(keys[rng.next(keys.count)])
            switch rng.next(9) {
            case 0, 1:
                let r = PutRequest(key: key, value: F.b("v\(step)"), prevKv: rng.next(2) == 0)
                #expect(try kept.put(r) == (try released.put(r)))
            case 2:
                let r = PutRequest(key: key, lease: 0, prevKv: true, ignoreValue: true)
                let a = try? kept.put(r)
                let b = try? released.put(r)
                #expect(a?.0 == b?.0)
                #expect(a?.1 == b?.1)
            case 3:
                let r = DeleteRangeRequest(key: key, rangeEnd: rng.next(2) == 0 ? [] : [0], prevKv: rng.next(2) == 0)
                #expect(kept.deleteRange(r) == released.deleteRange(r))
            case 4:
                let t = TxnRequest(
                    compare: [Compare(key: key, target: .value(F.b("v\(step - 1 - rng.next(4))")), result: .equal)],
                    success: [.put(PutRequest(key: key, value: F.b("s\(step)"), prevKv: true))],
                    failure: [.range(RangeRequest(key: other)), .put(PutRequest(key: other, value: F.b("f\(step)")))])
                let a = try kept.txn(t)
                let b = try released.txn(t)
                #expect(a.0 == b.0)
                #expect(a.1 == b.1)
            case 5:
                if kept.currentRevision > 10 && rng.next(5) == 0 {
                    let rev = kept.currentRevision - Int64(rng.next(5))
                    if rev > kept.compactedRevision {
                        try kept.compact(rev)
                        try released.compact(rev)
                    }
                }
            default:
                break
            }
            if rng.next(3) == 0 {
                committed = source.commit(released, after: committed)
                released.markPersisted(through: committed)
            }
            let rev = kept.currentRevision - Int64(rng.next(6))
            let r = RangeRequest(
                key: [0], rangeEnd: [0], revision: max(rev, kept.compactedRevision),
                sortOrder: rng.next(2) == 0 ? .none : .descend, sortTarget: rng.next(2) == 0 ? .key : .value,
                keysOnly: rng.next(4) == 0)
            #expect(try kept.range(r) == (try released.range(r)))
        }
        let all = KeyRange(key: [0], rangeEnd: [0])
        let from = max(kept.compactedRevision, 1)
        #expect(try kept.events(in: all, from: from, to: kept.currentRevision)
            == (try released.events(in: all, from: from, to: released.currentRevision)))
        #expect(try kept.hashKV(revision: 0) == (try released.hashKV(revision: 0)))
        #expect(kept.snapshot() == released.snapshot())
        #expect(kept.allVersions() == released.allVersions())
        #expect(source.valuesRead > 0)
    }

    @Test func keysOnlyAndCountOnlyReadsNeverTouchTheSource() throws {
        let source = MemorySource()
        var store = KVStore()
        store.valueSource = source
        for i in 0..<50 { try F.put(&store, "k\(i)", String(repeating: "x", count: 100)) }
        store.markPersisted(through: source.commit(store, after: 0))
        _ = try store.range(RangeRequest(key: [0], rangeEnd: [0], keysOnly: true))
        _ = try store.range(RangeRequest(key: [0], rangeEnd: [0], countOnly: true))
        _ = try store.range(RangeRequest(key: F.b("k1"), keysOnly: true))
        #expect(source.calls == 0)
        // A full range reads every value in one call.
        let all = try store.range(RangeRequest(key: [0], rangeEnd: [0]))
        #expect(all.kvs.count == 50)
        #expect(all.kvs.allSatisfy { $0.value == Array(repeating: UInt8(ascii: "x"), count: 100) })
        #expect(source.calls == 1)
        #expect(source.valuesRead == 50)
    }

    @Test func onlyCommittedValuesAreReleased() throws {
        let source = MemorySource()
        var store = KVStore()
        store.valueSource = source
        try F.put(&store, "a", "1")
        let committed = source.commit(store, after: 0)
        try F.put(&store, "b", "2")  // written after the commit
        store.markPersisted(through: committed)
        #expect(try F.get(store, "b")?.value == F.b("2"))
        #expect(source.calls == 0)
        #expect(try F.get(store, "a")?.value == F.b("1"))
        #expect(source.calls == 1)
        // The version the commit did not take is still in memory and goes
        // to the next commit with its value.
        #expect(store.versions(after: committed).map(\.value) == [F.b("2")])
    }

    /// A compaction must not drop the journal records of versions the
    /// backend has yet to commit: the next commit finds them there.
    @Test func compactionKeepsWhatTheBackendHasNotCommitted() throws {
        let source = MemorySource()
        var store = KVStore()
        store.valueSource = source
        store.persistedThrough = 0
        try F.put(&store, "a", "1")  // rev 2
        var committed = source.commit(store, after: 0)
        store.markPersisted(through: committed)
        try F.put(&store, "a", "2")  // rev 3: live after the compaction below
        try F.put(&store, "b", "3")  // rev 4
        try store.compact(4)
        #expect(store.versions(after: committed).map(\.value) == [F.b("2"), F.b("3")])
        committed = source.commit(store, after: committed)
        store.markPersisted(through: committed)
        // Persisted: the record below the compaction goes, the value too.
        #expect(store.log.records.map(\.revision.main) == [4])
        let calls = source.calls
        #expect(try F.get(store, "a")?.value == F.b("2"))
        #expect(source.calls == calls + 1)
        // A store nobody persists drops them at once, as before.
        var plain = KVStore()
        try F.put(&plain, "a", "1")
        try F.put(&plain, "b", "2")
        try plain.compact(3)
        #expect(plain.log.records.map(\.revision.main) == [3])
    }

    @Test func releasingWithoutASourceKeepsValues() throws {
        var store = KVStore()
        try F.put(&store, "a", "1")
        store.markPersisted(through: store.currentRevision)
        #expect(try F.get(store, "a")?.value == F.b("1"))
    }

    @Test func aStoreRestoredWithoutValuesReadsThemFromTheSource() throws {
        let source = MemorySource()
        var original = KVStore()
        original.valueSource = source
        try F.put(&original, "a", "1")
        try F.put(&original, "a", "2")
        _ = original.deleteRange(DeleteRangeRequest(key: F.b("a")))
        try F.put(&original, "b", "3")
        _ = source.commit(original, after: 0)
        var stored = original.allVersions()
        for i in stored.indices { stored[i].value = nil }
        let restored = try KVStore(
            restoring: stored, currentRevision: original.currentRevision, compactRevision: -1, leases: [],
            valueSource: source)
        #expect(try F.get(restored, "a", rev: 3)?.value == F.b("2"))
        #expect(try F.get(restored, "b")?.value == F.b("3"))
        #expect(restored.sizeEstimate == original.sizeEstimate)
        // Without a source, a store missing its values is refused.
        #expect(throws: SnapshotError.corrupt) {
            try KVStore(restoring: stored, currentRevision: original.currentRevision, compactRevision: -1, leases: [])
        }
    }
}
