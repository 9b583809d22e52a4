import Testing
@testable import MVCC

@Suite struct KVStoreSnapshotTests {
    typealias F = KVFixture

    private static func populated(_ clock: ManualLeaseClock) throws -> KVStore {
        var s = KVStore(lessor: Lessor(clock: clock))
        _ = try s.grantLease(id: 7, ttl: 30)
        _ = try s.grantLease(id: 8, ttl: 60)
        s.checkpointLease(8, remainingTTL: 12)
        try F.put(&s, "a", "1")  // 2
        try F.put(&s, "b", "1", lease: 7)  // 3
        try F.put(&s, "a", "2")  // 4
        _ = s.deleteRange(DeleteRangeRequest(key: F.b("a")))  // 5
        try F.put(&s, "c", "1")  // 6
        try s.compact(4)
        try F.put(&s, "a", "3", lease: 7)  // 7
        _ = try s.txn(TxnRequest(success: [
            .put(PutRequest(key: F.b("d"), value: F.b("x"))),
            .put(PutRequest(key: F.b("c"), value: F.b("2"))),
        ]))  // 8
        return s
    }

    @Test func aRestoredStoreAnswersLikeTheOriginal() throws {
        let clock = ManualLeaseClock()
        let original = try Self.populated(clock)
        let restored = try KVStore(snapshot: original.snapshot(), lessor: Lessor(clock: clock))
        #expect(restored.currentRevision == 8)
        #expect(restored.compactedRevision == 4)
        for rev: Int64 in 4...8 {
            let req = RangeRequest(key: [0], rangeEnd: [0], revision: rev)
            #expect(try restored.range(req) == original.range(req))
        }
        #expect(throws: MVCCError.compacted) { try restored.range(RangeRequest(key: F.b("a"), revision: 3)) }
        let all = KeyRange(key: [0], rangeEnd: [0])
        #expect(try restored.events(in: all, from: 5, to: 8) == original.events(in: all, from: 5, to: 8))
        #expect(restored.log.records == original.log.records)
        #expect(try restored.leaseTimeToLive(7, keys: true).keys == [F.b("a"), F.b("b")])
        #expect(restored.lessor.lookup(8)?.remainingTTL == 12)
        #expect(restored.snapshot() == original.snapshot())
    }

    @Test func aRestoredStoreKeepsWorking() throws {
        let clock = ManualLeaseClock()
        var restored = try KVStore(snapshot: Self.populated(clock).snapshot(), lessor: Lessor(clock: clock))
        let (revision, events) = try restored.revokeLease(7)
        #expect(revision == 9 && events.count == 2)
        try F.put(&restored, "d", "y")
        #expect(try F.get(restored, "d")?.version == 2)
    }

    @Test func aNonPrimaryRestoreWaitsForPromotion() throws {
        let clock = ManualLeaseClock()
        var restored = try KVStore(
            snapshot: Self.populated(clock).snapshot(), lessor: Lessor(clock: clock, primary: false))
        clock.advance(by: .seconds(100))
        #expect(restored.expiredLeases().isEmpty)
        restored.promoteLessor(extend: .zero)
        clock.advance(by: .seconds(12))
        #expect(restored.expiredLeases() == [8])  // resumed from its checkpoint
    }

    @Test func damagedSnapshotsAreRefused() throws {
        let bytes = try Self.populated(ManualLeaseClock()).snapshot()
        #expect(throws: SnapshotError.badFormat) { try KVStore(snapshot: Array("nope and more".utf8)) }
        var future = bytes
        future[4] = 99
        #expect(throws: SnapshotError.unsupportedVersion) { try KVStore(snapshot: future) }
        for cut in [5, 20, bytes.count / 2, bytes.count - 1] {
            #expect(throws: SnapshotError.corrupt) { try KVStore(snapshot: Array(bytes.prefix(cut))) }
        }
        #expect(throws: SnapshotError.corrupt) { try KVStore(snapshot: bytes + [0]) }
        #expect(try KVStore(snapshot: KVStore().snapshot()).currentRevision == 1)
    }
}
