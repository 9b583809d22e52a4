import MVCC
import Raft

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

    /// Defragmentation has nothing to do: the in-memory store frees what
    /// compaction drops as it goes, so there is no file to rewrite (etcd
    /// issue 9222 is the stop-the-world pause this avoids). It answers
    /// success so operators' scripts and `etcdctl defrag` keep working.
    public func defragment() -> ResponseHeader {
        logger.info("defragment requested: nothing to do, the store never needs it")
        return currentHeader()
    }
}
