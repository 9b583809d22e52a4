/// The health check behind `/health`, with etcd 3.4's rules
/// (`etcdhttp.checkHealth`), so load balancers and Kubernetes probes that
/// point at etcd's endpoint judge swift-etcd the same way.
extension EtcdServer {
    /// How long the quorum read of a health check may take (etcd's QGET
    /// runs under a one-second context).
    static let healthReadTimeout: Duration = .seconds(1)

    /// Unhealthy while an alarm is raised (unless its name, `NOSPACE` or
    /// `CORRUPT`, is in `excludedAlarms`: etcd's `?exclude=`), while no
    /// member leads, or when a linearizable read through Raft does not
    /// complete within a second (etcd proposes a v2 quorum GET; a ReadIndex
    /// round proves the same: a leader that a quorum still follows).
    public func isHealthy(excludedAlarms: Set<String> = []) async -> Bool {
        if stateMachine.alarms.contains(where: { !excludedAlarms.contains($0.alarm.name) }) { return false }
        guard raft.lead != .none else { return false }
        do {
            try await linearizableReadBarrier(timeout: Self.healthReadTimeout)
            return true
        } catch {
            return false
        }
    }
}
