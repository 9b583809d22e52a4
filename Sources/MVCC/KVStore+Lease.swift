/// Lease operations. They live on the store because revoking deletes keys
/// and because every write keeps attachments current; reads can also go to
/// `lessor` directly.
extension KVStore {
    /// Grants lease `id` with `ttl` seconds (see `Lessor.grant`). Makes no
    /// revision, as in etcd.
    public mutating func grantLease(id: Int64, ttl: Int64) throws(MVCCError) -> Lease {
        try lessor.grant(id: id, ttl: ttl)
    }

    /// Revokes the lease (etcd's `Revoke`): deletes every attached key in one
    /// revision, in key order, then forgets the lease. Returns the store's
    /// revision afterwards (unchanged when no key was attached) and the
    /// delete events.
    public mutating func revokeLease(_ id: Int64) throws(MVCCError) -> (revision: Int64, events: [Event]) {
        guard let lease = lessor.lookup(id) else { throw .leaseNotFound }
        var batch = WriteBatch(main: currentRevision + 1)
        for key in lease.keys.sorted(by: { Bytes.less($0, $1) }) {
            _ = applyDeleteRange(DeleteRangeRequest(key: key), in: &batch)
        }
        let events = commit(batch)
        lessor.remove(id)
        return (currentRevision, events)
    }

    /// A keep-alive: restarts the lease's TTL and returns it (see `Lessor.renew`).
    public mutating func renewLease(_ id: Int64) throws(MVCCError) -> Int64 {
        try lessor.renew(id)
    }

    /// etcd's `LeaseTimeToLive` (see `Lessor.timeToLive`).
    public func leaseTimeToLive(_ id: Int64, keys: Bool = false) throws(MVCCError) -> LeaseTimeToLive {
        try lessor.timeToLive(id, keys: keys)
    }

    /// Every lease, soonest expiry first (etcd's `LeaseLeases`).
    public func leases() -> [Lease] {
        lessor.leases()
    }

    /// Leases past their TTL, for the leader to revoke through consensus
    /// (see `Lessor.expiredLeases`). Nothing is revoked here.
    public mutating func expiredLeases(limit: Int = 500) -> [Int64] {
        lessor.expiredLeases(limit: limit)
    }

    /// This node became leader: restart lease TTLs, extended by `extend`.
    public mutating func promoteLessor(extend: Duration) {
        lessor.promote(extend: extend)
    }

    /// This node is no longer leader: stop tracking lease expiry.
    public mutating func demoteLessor() {
        lessor.demote()
    }

    /// Records a lease's remaining TTL (etcd's `LeaseCheckpoint`).
    public mutating func checkpointLease(_ id: Int64, remainingTTL: Int64) {
        lessor.checkpoint(id, remainingTTL: remainingTTL)
    }
}
