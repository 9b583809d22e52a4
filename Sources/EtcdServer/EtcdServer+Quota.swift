import MVCC

/// The backend quota (`--quota-backend-bytes`) and alarms.
///
/// As in etcd, the check happens before proposing: a write that would take
/// the store past the quota raises a NOSPACE alarm through the log and fails
/// with `database space exceeded`. Once the alarm is applied every member
/// refuses writes that add data (see `StateMachine.isCapped`) until an
/// operator frees space (compaction) and disarms it; reads, deletes and
/// compaction keep working.
extension EtcdServer {
    /// The quota in bytes, or nil when disabled (a negative flag value).
    var quotaBytes: Int64? {
        if config.quotaBackendBytes < 0 { return nil }
        return config.quotaBackendBytes == 0 ? ServerConfig.defaultQuotaBackendBytes : config.quotaBackendBytes
    }

    /// What a request would add to the store, as the size estimate counts.
    static func cost(of command: Command) -> Int64 {
        switch command {
        case .put(let p): return Int64(p.key.count + p.value.count + 64)
        case .txn(let t): return cost(of: t)
        case .leaseGrant: return 64
        default: return 0
        }
    }

    private static func cost(of txn: TxnRequest) -> Int64 {
        (txn.success + txn.failure).reduce(0) { sum, op in
            switch op {
            case .put(let p): sum + Int64(p.key.count + p.value.count + 64)
            case .txn(let t): sum + cost(of: t)
            case .range, .deleteRange: sum
            }
        }
    }

    /// Refuses a write that would exceed the quota, raising NOSPACE.
    func checkQuota(_ command: Command) async throws(EtcdError) {
        guard let quota = quotaBytes, command.addsData else { return }
        guard stateMachine.store.sizeEstimate + Self.cost(of: command) > quota else { return }
        if !stateMachine.alarms.contains(AlarmMember(memberID: memberID, alarm: .noSpace)) {
            logger.warning(
                "database space exceeded; raising NOSPACE alarm",
                metadata: [
                    "quota-size-bytes": "\(quota)", "size-bytes": "\(stateMachine.store.sizeEstimate)",
                    "hint": "compact old revisions (etcdctl compact), then etcdctl alarm disarm",
                ])
            _ = try? await propose(.alarm(activate: true, memberID: memberID, type: .noSpace))
        }
        throw .noSpace
    }

    /// etcd's Alarm RPC: GET lists the alarms (all, or of one type);
    /// ACTIVATE and DEACTIVATE go through the log and answer what changed.
    public func alarm(action: AlarmAction, memberID: UInt64, type: AlarmType) async throws(EtcdError) -> (
        [AlarmMember], ResponseHeader
    ) {
        switch action {
        case .get:
            let alarms = stateMachine.alarms.filter { type == .none || $0.alarm == type }
            return (alarms, currentHeader())
        case .activate, .deactivate:
            let result = try await propose(.alarm(activate: action == .activate, memberID: memberID, type: type))
            guard case .alarms(let changed) = result else { throw .stopped }
            if action == .deactivate, !changed.isEmpty {
                logger.info("alarm disarmed", metadata: ["alarm": "\(type.name)", "member-id": "\(hex(memberID))"])
            }
            return (changed, currentHeader())
        }
    }

    public enum AlarmAction: Sendable {
        case get, activate, deactivate
    }
}
