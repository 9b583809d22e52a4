import MVCC

/// etcd's `v3lockpb.Lock` service (etcd 3.4's `v3lock`, which runs
/// clientv3/concurrency's Mutex inside the server). A lock named `name` is
/// the keys under `name/`, one per waiter, `name/<lease in hex>`, each
/// attached to its waiter's lease: the key created first holds the lock.
extension EtcdServer {
    /// Takes the lock `name` for `lease` (none: a new 60 s lease), waiting
    /// until every key under `name/` created before this one is deleted —
    /// unlocked, or gone with its lease. Returns the key that holds the
    /// lock, to pass to `unlock`, and the header of the write that made
    /// it the holder's (or of the read that found the waiting over).
    ///
    /// A lease that waits or holds already keeps its key (and its place).
    /// If the wait ends without the lock (the client went away, its
    /// deadline passed), the key is deleted, as etcd's Mutex does.
    public nonisolated func lock(name: [UInt8], lease requested: Int64) async throws(EtcdError) -> (
        key: [UInt8], header: ResponseHeader
    ) {
        let lease = try await recipeLease(requested)
        let prefix = name + [UInt8(ascii: "/")]
        let key = Self.recipeKey(prefix: prefix, lease: lease)
        // Join the waiters unless this lease is one already; in the same
        // transaction, read the oldest waiter (the holder).
        let holder = RangeRequest(
            key: prefix, rangeEnd: KeyRange.prefixEnd(prefix), limit: 1, sortOrder: .ascend, sortTarget: .create)
        let (response, header) = try await txn(
            TxnRequest(
                compare: [Compare(key: key, target: .createRevision(0), result: .equal)],
                success: [.put(PutRequest(key: key, lease: lease)), .range(holder)],
                failure: [.range(RangeRequest(key: key)), .range(holder)]))
        var created = header.revision
        if !response.succeeded, case .range(let mine) = response.responses.first, let kv = mine.kvs.first {
            created = kv.createRevision
        }
        guard case .range(let holders) = response.responses.last else { throw .stopped }
        if holders.kvs.first.map({ $0.createRevision == created }) ?? true {
            return (key, header)
        }
        do {
            return (key, try await waitDeletes(prefix: prefix, maxCreateRevision: created - 1))
        } catch {
            await cleanUpAfterFailedWait { () async throws(EtcdError) in
                _ = try await self.deleteRange(DeleteRangeRequest(key: key))
            }
            throw error
        }
    }

    /// Releases a lock (or gives up a place in its queue): deletes `key`.
    public nonisolated func unlock(key: [UInt8]) async throws(EtcdError) -> ResponseHeader {
        try await deleteRange(DeleteRangeRequest(key: key)).1
    }
}
