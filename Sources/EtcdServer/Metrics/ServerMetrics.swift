import CoreMetrics

/// etcd's server metrics, under etcd's names, so the dashboards and alerts
/// written for etcd (`etcd_server_has_leader == 0`, fsync latency
/// percentiles, leader churn) work unchanged against swift-etcd.
///
/// Instruments come from swift-metrics' process-wide factory, which the
/// executable bootstraps with Prometheus before the member opens; without
/// that (the in-process tests) they record nothing. The server only writes
/// them; a scrape reads the factory's own storage and never waits on the
/// server's actor.
public final class ServerMetrics: Sendable {
    /// swift-metrics' factory is process-wide, so are its instruments.
    public static let shared = ServerMetrics()

    /// etcd's metric names (`etcd/etcdserver/metrics.go`, `wal/metrics.go`,
    /// `mvcc/metrics.go`, `mvcc/backend/metrics.go`, `rafthttp/metrics.go`).
    public enum Name {
        public static let hasLeader = "etcd_server_has_leader"
        public static let isLeader = "etcd_server_is_leader"
        public static let leaderChanges = "etcd_server_leader_changes_seen_total"
        public static let proposalsCommitted = "etcd_server_proposals_committed_total"
        public static let proposalsApplied = "etcd_server_proposals_applied_total"
        public static let proposalsPending = "etcd_server_proposals_pending"
        public static let proposalsFailed = "etcd_server_proposals_failed_total"
        public static let healthSuccess = "etcd_server_health_success"
        public static let healthFailures = "etcd_server_health_failures"
        public static let dbTotalSize = "etcd_mvcc_db_total_size_in_bytes"
        public static let dbTotalSizeInUse = "etcd_mvcc_db_total_size_in_use_in_bytes"
        public static let keysTotal = "etcd_debugging_mvcc_keys_total"
        public static let watchers = "etcd_debugging_mvcc_watcher_total"
        public static let watchStreams = "etcd_debugging_mvcc_watch_stream_total"
        public static let walFsync = "etcd_disk_wal_fsync_duration_seconds"
        public static let backendCommit = "etcd_disk_backend_commit_duration_seconds"
        public static let peerRoundTrip = "etcd_network_peer_round_trip_time_seconds"
    }

    /// etcd's histogram buckets, for the factory to use for these timers:
    /// 1 ms · 2ⁿ (14 buckets, to 8.192 s) for disk latencies, 0.1 ms · 2ⁿ
    /// (16 buckets, to 3.2768 s) for peer round trips.
    public static let histogramBuckets: [String: [Duration]] = [
        Name.walFsync: exponentialBuckets(start: .milliseconds(1), count: 14),
        Name.backendCommit: exponentialBuckets(start: .milliseconds(1), count: 14),
        Name.peerRoundTrip: exponentialBuckets(start: .microseconds(100), count: 16),
    ]

    let hasLeader: Gauge
    let isLeader: Gauge
    let leaderChanges: Counter
    let proposalsCommitted: Gauge
    let proposalsApplied: Gauge
    let proposalsPending: Gauge
    let proposalsFailed: Counter
    public let healthSuccess: Counter
    public let healthFailures: Counter
    let dbTotalSize: Gauge
    let dbTotalSizeInUse: Gauge
    let keysTotal: Gauge
    let watchers: Gauge
    let watchStreams: Gauge
    let walFsync: CoreMetrics.Timer
    let backendCommit: CoreMetrics.Timer

    init() {
        hasLeader = Gauge(label: Name.hasLeader)
        isLeader = Gauge(label: Name.isLeader)
        leaderChanges = Counter(label: Name.leaderChanges)
        proposalsCommitted = Gauge(label: Name.proposalsCommitted)
        proposalsApplied = Gauge(label: Name.proposalsApplied)
        proposalsPending = Gauge(label: Name.proposalsPending)
        proposalsFailed = Counter(label: Name.proposalsFailed)
        healthSuccess = Counter(label: Name.healthSuccess)
        healthFailures = Counter(label: Name.healthFailures)
        dbTotalSize = Gauge(label: Name.dbTotalSize)
        dbTotalSizeInUse = Gauge(label: Name.dbTotalSizeInUse)
        keysTotal = Gauge(label: Name.keysTotal)
        watchers = Gauge(label: Name.watchers)
        watchStreams = Gauge(label: Name.watchStreams)
        walFsync = CoreMetrics.Timer(label: Name.walFsync)
        backendCommit = CoreMetrics.Timer(label: Name.backendCommit)
    }

    /// The round-trip histogram for one peer (etcd labels it `To`, the
    /// member ID in hex); the factory hands back the same series each time.
    func peerRoundTrip(to peer: UInt64) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: Name.peerRoundTrip, dimensions: [("To", String(peer, radix: 16))])
    }

    private static func exponentialBuckets(start: Duration, count: Int) -> [Duration] {
        (0..<count).map { start * (1 << $0) }
    }
}

extension CoreMetrics.Timer {
    /// Records how long something took since `start`.
    func record(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
