/// One lease (etcd's `lease.Lease`): a TTL in seconds, the time it expires,
/// and the keys attached to it, which are deleted when it is revoked.
public struct Lease: Sendable, Hashable {
    public let id: Int64
    /// The granted TTL in seconds, after the lessor's minimum was applied.
    public internal(set) var ttl: Int64
    /// The TTL left at the latest checkpoint (0: none, the full `ttl`
    /// applies). Lets a new leader resume a lease instead of restarting it.
    public internal(set) var remainingTTL: Int64
    /// When the lease expires on the lessor's clock; `nil` ("forever") on a
    /// lessor that is not primary, since only the leader expires leases.
    public internal(set) var expiry: Duration?
    /// The keys currently attached.
    public internal(set) var keys: Set<[UInt8]>

    init(id: Int64, ttl: Int64) {
        self.id = id
        self.ttl = ttl
        self.remainingTTL = 0
        self.expiry = nil
        self.keys = []
    }

    /// The TTL to count from when the lease is (re)started.
    var effectiveTTL: Int64 { remainingTTL > 0 ? remainingTTL : ttl }

    /// Time left before expiry at `now`; `nil` for forever.
    func remaining(at now: Duration) -> Duration? {
        expiry.map { $0 - now }
    }
}

/// What etcd's `LeaseTimeToLive` reports.
public struct LeaseTimeToLive: Sendable, Hashable {
    public var id: Int64
    /// Whole seconds left (truncated, never negative).
    public var ttl: Int64
    /// The TTL the lease was granted with.
    public var grantedTTL: Int64
    /// Attached keys in key order, when asked for.
    public var keys: [[UInt8]]

    public init(id: Int64, ttl: Int64, grantedTTL: Int64, keys: [[UInt8]] = []) {
        self.id = id
        self.ttl = ttl
        self.grantedTTL = grantedTTL
        self.keys = keys
    }
}
