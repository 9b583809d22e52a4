import MVCC
import Raft
import Storage

/// Maintenance operations: leadership transfer, consistency hashes,
/// defragmentation.
extension EtcdServer {
    /// etcd's MoveLeader: only the leader hands over, only to a voter, and
    /// the call returns once the transferee leads (or times out).
    public func moveLeader(to transferee: UInt64) async throws(EtcdError) {
        guard raft.lead == memberID else { throw .notLeader }
        guard let target = members.first(where: { $0.id == transferee }), !target.isLearner else {
            throw .badLeaderTransferee
        }
        let start = ContinuousClock.now
        logger.info(
            "leadership transfer starting",
            metadata: ["current-leader-member-id": "\(hex(memberID))", "transferee-member-id": "\(hex(transferee))"])
        raft.transferLeader(to: transferee)
        scheduleReady()
        let deadline = start + requestTimeout
        var waited = 0
        while raft.lead != transferee {
            if ContinuousClock.now >= deadline || waited > 100_000 { throw .leaderTransferTimeout }
            waited += 1
            do {
                try await Task.sleep(for: .milliseconds(max(1, config.heartbeatIntervalMs)))
            } catch {
                throw .stopped
            }
        }
        logger.info(
            "leadership transfer finished",
            metadata: [
                "old-leader-member-id": "\(hex(memberID))", "new-leader-member-id": "\(hex(transferee))",
                "took": "\(ContinuousClock.now - start)",
            ])
    }

    /// etcd's HashKV over the retained history up to `revision` (0: now).
    public func hashKV(revision: Int64) throws(EtcdError) -> (KVStore.HashKV, ResponseHeader) {
        do {
            let hash = try stateMachine.store.hashKV(revision: revision)
            return (hash, header(revision: hash.revision))
        } catch {
            throw EtcdError(error)
        }
    }

    /// etcd's `Maintenance.Hash`: a CRC-32C of everything the backend holds —
    /// each bucket's name, then its keys and values in order, buckets in
    /// name order — leaving out the applied index (`meta/consistent_index`),
    /// which each member advances on its own. A compaction under way is let
    /// finish and applied writes are committed first (etcd forces its batch
    /// too), so members that applied the same entries answer the same hash. The values differ from etcd's: the
    /// buckets hold our records, not bbolt's.
    ///
    /// The whole file is read, so this runs on a thread of its own while
    /// the actor goes on serving. The revision is the one the backend held.
    public func hash() async throws(EtcdError) -> (hash: UInt32, header: ResponseHeader) {
        guard let backend else { throw .unimplemented("hash needs the on-disk backend") }
        // A compaction's slices drop old versions on the periodic loop; the
        // members agree only once it is done and the backend pruned.
        if stateMachine.store.isCompacting { await waitForCompactionToFinish() }
        commitBackend()
        let revision = stateMachine.store.currentRevision
        let storage = backend.storage
        do {
            let hash = try await Self.hasher.run { try Self.hashBackend(storage) }
            return (hash, header(revision: revision))
        } catch {
            throw .untranslated("\(error)")
        }
    }

    private static let hasher = BlockingRunner(label: "swift-etcd.hash")

    static func hashBackend(_ storage: Backend) throws -> UInt32 {
        let ignored = (bucket: MVCCBackend.Buckets.meta, key: MVCCBackend.MetaKey.consistentIndex)
        var crc: UInt32 = 0
        try storage.read { tx in
            for bucket in MVCCBackend.Buckets.all.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
                crc = CRC32C.update(crc, Array(bucket.name.utf8))
                try tx.forEach(in: bucket) { key, value in
                    if bucket == ignored.bucket && key.elementsEqual(ignored.key) { return true }
                    crc = CRC32C.update(crc, key)
                    crc = CRC32C.update(crc, value)
                    return true
                }
            }
        }
        return crc
    }

    /// Defragmentation has nothing to do: the in-memory store frees what
    /// compaction drops as it goes, so there is no file to rewrite (etcd
    /// issue 9222 is the stop-the-world pause this avoids). It answers
    /// success so operators' scripts and `etcdctl defrag` keep working.
    public func defragment() -> ResponseHeader {
        logger.info("defragment requested: nothing to do, the store never needs it")
        return currentHeader()
    }
}
