import Testing
@testable import MVCC

/// The running size estimate (what the quota and the status API read) must
/// agree with a full walk of the store after any mix of writes, and shrink
/// when compaction drops history.
@Suite struct KVStoreSizeTests {
    typealias F = KVFixture

    @Test func estimateFollowsWritesDeletesTxnsLeasesAndCompaction() throws {
        var store = KVStore()
        #expect(store.sizeEstimate == 0)
        for i in 0..<50 { try F.put(&store, "k\(i % 10)", String(repeating: "v", count: i)) }
        #expect(store.sizeEstimate == store.approximateSize())
        _ = store.deleteRange(DeleteRangeRequest(key: F.b("k1"), rangeEnd: F.b("k5")))
        _ = try store.txn(
            TxnRequest(success: [.put(PutRequest(key: F.b("t"), value: F.b("x"))), .deleteRange(DeleteRangeRequest(key: F.b("k9")))]))
        let lease = try store.grantLease(id: 7, ttl: 100)
        try F.put(&store, "leased", "v", lease: lease.id)
        _ = try store.revokeLease(7)
        #expect(store.sizeEstimate == store.approximateSize())

        let before = store.sizeEstimate
        try store.compact(store.currentRevision)
        #expect(store.sizeEstimate < before)
        #expect(store.sizeEstimate == store.approximateSize())

        let restored = try KVStore(snapshot: store.snapshot())
        #expect(restored.sizeEstimate == store.sizeEstimate)
    }
}
