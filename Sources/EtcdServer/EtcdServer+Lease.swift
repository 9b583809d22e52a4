import MVCC

/// Leases. Grant and revoke change the store (and will go through Raft);
/// keep-alives renew on the member that holds the lessor's primary role.
extension EtcdServer {
    public func leaseGrant(id requestedID: Int64, ttl: Int64) throws(EtcdError) -> (Lease, ResponseHeader) {
        var id = requestedID
        // etcd picks a positive ID when the client leaves it to the server.
        var attempts = 0
        while id <= 0 && attempts < 16 {
            id = Int64(bitPattern: idGenerator.next() & UInt64(Int64.max))
            attempts += 1
        }
        do {
            let lease = try store.grantLease(id: id, ttl: ttl)
            return (lease, header(revision: store.currentRevision))
        } catch {
            throw EtcdError(error)
        }
    }

    public func leaseRevoke(_ id: Int64) throws(EtcdError) -> ResponseHeader {
        do {
            let (revision, events) = try store.revokeLease(id)
            publish(events)
            return header(revision: revision)
        } catch {
            throw EtcdError(error)
        }
    }

    /// A keep-alive: returns the lease's TTL, now renewed.
    public func leaseRenew(_ id: Int64) throws(EtcdError) -> (ttl: Int64, header: ResponseHeader) {
        do {
            let ttl = try store.renewLease(id)
            return (ttl, header(revision: store.currentRevision))
        } catch {
            throw EtcdError(error)
        }
    }

    public func leaseTimeToLive(_ id: Int64, keys: Bool) throws(EtcdError) -> (LeaseTimeToLive, ResponseHeader) {
        do {
            let ttl = try store.leaseTimeToLive(id, keys: keys)
            return (ttl, header(revision: store.currentRevision))
        } catch {
            throw EtcdError(error)
        }
    }

    public func leaseList() -> ([Int64], ResponseHeader) {
        (store.leases().map(\.id).sorted(), header(revision: store.currentRevision))
    }

    /// Revokes what the lessor reports expired. Only the lessor's primary
    /// (the leader, once Raft is in) reports anything.
    func revokeExpiredLeases() {
        for id in store.expiredLeases() {
            do {
                let (_, events) = try store.revokeLease(id)
                publish(events)
                logger.info("revoked expired lease", metadata: ["lease-id": "\(String(id, radix: 16))"])
            } catch {
                // Already revoked by a client between report and revoke.
                continue
            }
        }
    }
}
