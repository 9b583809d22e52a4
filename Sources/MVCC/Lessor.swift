/// The lease table (etcd's `lessor`): grants, renews and expires leases and
/// tracks which keys are attached to each.
///
/// It decides nothing on its own. Time comes from the injected `LeaseClock`;
/// expiry is only *reported* (`expiredLeases`), because in a cluster only
/// the leader may expire a lease, by proposing its revocation through Raft.
/// Hence the primary/non-primary split of etcd: a primary lessor (the
/// leader's) tracks expiry times; a non-primary one holds every lease
/// "forever", and `promote(extend:)` restarts all TTLs, extended, when its
/// node becomes leader, so a leader change never cuts a lease short.
///
/// Attachments change only through the `KVStore` that owns the lessor, as a
/// side effect of its writes; revocation likewise goes through the store,
/// which deletes the attached keys (`KVStore.revokeLease`).
public struct Lessor: Sendable {
    /// etcd's `MaxLeaseTTL`: larger TTLs are refused.
    public static let maxTTL: Int64 = 9_000_000_000

    public struct Configuration: Sendable {
        /// TTLs below this are raised to it (etcd's `minLeaseTTL`), so that
        /// a lease cannot expire during a leader election.
        public var minTTL: Int64
        /// How long a lease reported as expired waits before it is reported
        /// again, if its revocation has not been applied by then.
        public var expiredLeaseRetryInterval: Duration
        /// At most this many expiries per second after a promotion (etcd's
        /// `leaseRevokeRate`); beyond it, expiries are spread out.
        public var revokeRate: Int

        /// Defaults match etcd 3.4 with default flags: minimum TTL 2 s.
        public init(
            minTTL: Int64 = Configuration.minTTL(electionTicks: 10, heartbeat: .milliseconds(100)),
            expiredLeaseRetryInterval: Duration = .seconds(3), revokeRate: Int = 1000
        ) {
            self.minTTL = minTTL
            self.expiredLeaseRetryInterval = expiredLeaseRetryInterval
            self.revokeRate = revokeRate
        }

        /// etcd's rule: the minimum TTL is 1.5 election timeouts, rounded up
        /// to whole seconds (10 ticks of 100 ms → 1.5 s → 2 s).
        public static func minTTL(electionTicks: Int, heartbeat: Duration) -> Int64 {
            let minimum = heartbeat * ((3 * electionTicks) / 2)
            let (seconds, attoseconds) = minimum.components
            return attoseconds > 0 ? seconds + 1 : seconds
        }
    }

    public let configuration: Configuration
    private let clock: any LeaseClock
    /// Every live lease by ID (etcd's `leaseMap`).
    private(set) var leaseMap: [Int64: Lease] = [:]
    /// Primary leases by the time they are next due for an expiry check.
    private var expiryQueue = ExpiryQueue()
    /// Whether this lessor tracks expiry (its node is the leader).
    public private(set) var isPrimary: Bool

    /// A lessor starts primary, which suits a single node; a cluster member
    /// calls `demote()` when it is not the leader and `promote(extend:)`
    /// when it becomes leader.
    public init(
        clock: any LeaseClock = MonotonicLeaseClock(), configuration: Configuration = Configuration(),
        primary: Bool = true
    ) {
        self.clock = clock
        self.configuration = configuration
        self.isPrimary = primary
    }

    /// The current time on the lessor's clock.
    public var now: Duration { clock.now }

    // MARK: Lease lifecycle

    /// Creates lease `id` (etcd's `Grant`). The ID is chosen before the call
    /// (by the client or the server) so that every member of a cluster
    /// grants the same one; 0 is not an ID and fails with `.leaseNotFound`
    /// as in etcd. A TTL below the minimum is raised to it.
    public mutating func grant(id: Int64, ttl: Int64) throws(MVCCError) -> Lease {
        if id == 0 { throw .leaseNotFound }
        if ttl > Self.maxTTL { throw .leaseTTLTooLarge }
        if leaseMap[id] != nil { throw .leaseExists }
        var lease = Lease(id: id, ttl: max(ttl, configuration.minTTL))
        if isPrimary {
            lease.expiry = now + .seconds(lease.ttl)
            expiryQueue.update(id, due: lease.expiry ?? now)
        }
        leaseMap[id] = lease
        return lease
    }

    /// Restarts the lease's TTL (a keep-alive, etcd's `Renew`) and returns
    /// it. An unknown lease, or one already expired (its revocation is
    /// pending), fails with `.leaseNotFound`. Keep-alives belong on the
    /// leader: on a non-primary lessor the lease stays "forever" and only
    /// its TTL is returned.
    public mutating func renew(_ id: Int64) throws(MVCCError) -> Int64 {
        guard var lease = leaseMap[id] else { throw .leaseNotFound }
        guard isPrimary else { return lease.ttl }
        let at = now
        if let expiry = lease.expiry, expiry <= at { throw .leaseNotFound }
        lease.remainingTTL = 0
        let expiry = at + .seconds(lease.ttl)
        lease.expiry = expiry
        leaseMap[id] = lease
        expiryQueue.update(id, due: expiry)
        return lease.ttl
    }

    /// Records the TTL a lease had left (etcd's `Checkpoint`), so a later
    /// promotion resumes from there rather than from the full TTL.
    public mutating func checkpoint(_ id: Int64, remainingTTL: Int64) {
        guard leaseMap[id] != nil else { return }
        leaseMap[id]?.remainingTTL = remainingTTL
    }

    /// Forgets the lease; the owning store deletes its keys first.
    mutating func remove(_ id: Int64) {
        leaseMap[id] = nil
        expiryQueue.remove(id)
    }

    // MARK: Reads

    public func lookup(_ id: Int64) -> Lease? {
        leaseMap[id]
    }

    /// Every lease, soonest expiry first (etcd's `Leases`).
    public func leases() -> [Lease] {
        leaseMap.values.sorted { a, b in
            switch (a.expiry, b.expiry) {
            case let (x?, y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.id < b.id
            }
        }
    }

    /// What etcd's `LeaseTimeToLive` reports: whole seconds left (the
    /// remaining TTL when not primary) and, if asked, the attached keys.
    public func timeToLive(_ id: Int64, keys withKeys: Bool = false) throws(MVCCError) -> LeaseTimeToLive {
        guard let lease = leaseMap[id] else { throw .leaseNotFound }
        let left: Int64
        if let remaining = lease.remaining(at: now) {
            left = max(0, remaining.components.seconds)
        } else {
            left = lease.effectiveTTL
        }
        let keys = withKeys ? lease.keys.sorted { Bytes.less($0, $1) } : []
        return LeaseTimeToLive(id: id, ttl: left, grantedTTL: lease.ttl, keys: keys)
    }

    // MARK: Expiry

    /// IDs of leases past their expiry, at most `limit`, soonest first.
    /// Each reported lease is not reported again for the configured retry
    /// interval, giving its revocation time to go through consensus. Only a
    /// primary lessor reports anything.
    public mutating func expiredLeases(limit: Int = 500) -> [Int64] {
        guard isPrimary, limit > 0 else { return [] }
        let at = now
        var expired: [Int64] = []
        var checked = 0
        let bound = expiryQueue.count
        while checked < bound, expired.count < limit, let item = expiryQueue.first, item.due <= at {
            checked += 1
            guard let lease = leaseMap[item.id], let expiry = lease.expiry else {
                expiryQueue.remove(item.id)
                continue
            }
            if expiry <= at {
                expired.append(item.id)
                expiryQueue.update(item.id, due: at + configuration.expiredLeaseRetryInterval)
            } else {
                expiryQueue.update(item.id, due: expiry)
            }
        }
        return expired
    }

    /// Makes this lessor primary (its node became leader): every lease
    /// restarts from its remaining TTL plus `extend`, typically the election
    /// timeout, so no lease expires because leadership moved. With many
    /// leases due together, expiries are spread to the revoke rate as etcd
    /// does, so the new leader is not flooded with revocations.
    public mutating func promote(extend: Duration) {
        isPrimary = true
        let at = now
        for id in leaseMap.keys {
            guard var lease = leaseMap[id] else { continue }
            lease.expiry = at + extend + .seconds(lease.effectiveTTL)
            leaseMap[id] = lease
            expiryQueue.update(id, due: lease.expiry ?? at)
        }
        spreadExpiries(extend: extend, at: at)
    }

    /// Leases due in the same second beyond 3/4 of the revoke rate are
    /// pushed back so that at most that many expire per second (etcd's
    /// promotion rate limiting).
    private mutating func spreadExpiries(extend: Duration, at: Duration) {
        guard leaseMap.count >= configuration.revokeRate else { return }
        let ordered = leases()
        guard let first = ordered.first?.remaining(at: at) else { return }
        let perSecond = max(1, (3 * configuration.revokeRate) / 4)
        var baseWindow = first
        var nextWindow = baseWindow + .seconds(1)
        var expiring = 0
        for lease in ordered {
            guard let remaining = lease.remaining(at: at) else { continue }
            if remaining > nextWindow {
                baseWindow = remaining
                nextWindow = baseWindow + .seconds(1)
                expiring = 1
                continue
            }
            expiring += 1
            if expiring <= perSecond { continue }
            let delay = Duration.seconds(1) * (Double(expiring) / Double(perSecond)) - (remaining - baseWindow)
            nextWindow = baseWindow + delay
            let expiry = at + delay + extend + .seconds(lease.effectiveTTL)
            leaseMap[lease.id]?.expiry = expiry
            expiryQueue.update(lease.id, due: expiry)
        }
    }

    /// Makes this lessor non-primary (its node lost leadership): leases
    /// live "forever" here until a promotion restarts them.
    public mutating func demote() {
        isPrimary = false
        for id in leaseMap.keys {
            leaseMap[id]?.expiry = nil
        }
        expiryQueue.removeAll()
    }

    // MARK: Attachments (driven by the store's writes)

    mutating func attach(_ id: Int64, key: [UInt8]) {
        leaseMap[id]?.keys.insert(key)
    }

    mutating func detach(_ id: Int64, key: [UInt8]) {
        leaseMap[id]?.keys.remove(key)
    }
}
