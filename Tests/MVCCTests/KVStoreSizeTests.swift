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

/// Compaction in slices (etcd issue 19406): reads answer the same at every
/// point, and the end state equals a compaction done at once.
@Suite struct KVStoreIncrementalCompactionTests {
    typealias F = KVFixture

    @Test func slicedCompactionMatchesAnImmediateOneAndReadsStayCorrect() throws {
        var store = KVStore()
        for i in 0..<6000 { try F.put(&store, "k\(i % 3000)", "v\(i)") }
        _ = store.deleteRange(DeleteRangeRequest(key: F.b("k1"), rangeEnd: F.b("k2")))
        for i in 0..<300 { try F.put(&store, "n\(i)", "x") }
        let at = store.currentRevision - 100
        var reference = store
        try reference.compact(at)

        try store.beginCompaction(at)
        var slices = 0
        repeat {
            slices += 1
            // Mid-way: reads at and above the compaction answer as the
            // compacted store does; below it they fail.
            #expect(try store.range(RangeRequest(key: F.b("k"), rangeEnd: F.b("l"), revision: at)).kvs
                == (try reference.range(RangeRequest(key: F.b("k"), rangeEnd: F.b("l"), revision: at)).kvs))
            #expect(throws: MVCCError.compacted) { try store.range(RangeRequest(key: F.b("k5"), revision: at - 1)) }
            // Writes go on between slices.
            try F.put(&store, "w\(slices)", "during")
            try F.put(&reference, "w\(slices)", "during")
        } while store.continueCompaction(maxKeys: 100) && slices < 1000
        #expect(slices > 5)
        #expect(!store.isCompacting)
        #expect(store.snapshot() == reference.snapshot())
        #expect(store.sizeEstimate == store.approximateSize())
        #expect(store.keyCount == reference.keyCount)
    }
}
