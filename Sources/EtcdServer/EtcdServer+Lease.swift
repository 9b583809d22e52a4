import MVCC

/// Leases. Grant and revoke go through Raft like any write; keep-alives
/// renew on the leader, whose lessor is the primary one.
extension EtcdServer {
    public func leaseGrant(id requestedID: Int64, ttl: Int64) async throws(EtcdError) -> (Lease, ResponseHeader) {
        var id = requestedID
        // etcd picks a positive ID when the client leaves it to the server.
        var attempts = 0
        while id <= 0 && attempts < 16 {
            id = Int64(bitPattern: idGenerator.next() & UInt64(Int64.max))
            attempts += 1
        }
        if ttl > Lessor.maxTTL { throw .leaseTTLTooLarge }
        guard case .leaseGrant(let lease, let revision) = try await propose(.leaseGrant(id: id, ttl: ttl)) else {
            throw .stopped
        }
        return (lease, header(revision: revision))
    }

    public func leaseRevoke(_ id: Int64) async throws(EtcdError) -> ResponseHeader {
        if stateMachine.store.lessor.lookup(id) == nil { throw .leaseNotFound }
        guard case .leaseRevoke(let revision) = try await propose(.leaseRevoke(id: id)) else { throw .stopped }
        return header(revision: revision)
    }

    /// A keep-alive: returns the lease's TTL, now renewed. Only the leader's
    /// lessor tracks expiry, so a follower throws `.notLeader` and the API
    /// forwards the keep-alive to `leaderClientURL()` (as etcd forwards it).
    public func leaseRenew(_ id: Int64) throws(EtcdError) -> (ttl: Int64, header: ResponseHeader) {
        guard raft.lead == memberID else { throw .notLeader }
        do {
            let ttl = try stateMachine.store.renewLease(id)
            return (ttl, header(revision: stateMachine.store.currentRevision))
        } catch {
            throw EtcdError(error)
        }
    }

    /// Whether this member leads (its lessor is the primary one).
    public var isLeader: Bool { raft.lead == memberID }
    /// Whether any member leads.
    public var hasLeader: Bool { raft.lead != .none }

    /// The leader's client URL, once a leader exists and has published it
    /// (waits up to the request timeout).
    public func leaderClientURL() async throws(EtcdError) -> String {
        let deadline = ContinuousClock.now + requestTimeout
        var waited = 0
        while ContinuousClock.now < deadline && waited < 10_000 {
            if raft.lead != .none, let url = members.first(where: { $0.id == raft.lead })?.clientURLs.first {
                return url
            }
            waited += 1
            do {
                try await Task.sleep(for: .milliseconds(config.heartbeatIntervalMs))
            } catch {
                throw .stopped
            }
        }
        throw .noLeader
    }

    public func leaseTimeToLive(_ id: Int64, keys: Bool) throws(EtcdError) -> (LeaseTimeToLive, ResponseHeader) {
        do {
            let ttl = try stateMachine.store.leaseTimeToLive(id, keys: keys)
            return (ttl, header(revision: stateMachine.store.currentRevision))
        } catch {
            throw EtcdError(error)
        }
    }

    public func leaseList() -> ([Int64], ResponseHeader) {
        (stateMachine.store.leases().map(\.id).sorted(), header(revision: stateMachine.store.currentRevision))
    }

    /// Proposes the revocation of what the lessor reports expired. Only the
    /// leader's lessor is primary, so only the leader reports anything; the
    /// revoke is then applied by every member in log order.
    func revokeExpiredLeases() {
        guard raft.lead == memberID else { return }
        for id in stateMachine.store.expiredLeases() {
            logger.info("revoking expired lease", metadata: ["lease-id": "\(hex(UInt64(bitPattern: id)))"])
            Task {
                // A client may have revoked it first; the lessor reports it
                // again later if it is still there.
                // As root (etcd's `WithRoot`): its keys may be anyone's.
                _ = try? await self.propose(.leaseRevoke(id: id), as: self.rootCaller())
            }
        }
    }
}
