/// etcd's alarm types (`etcdserverpb.AlarmType`).
public enum AlarmType: Int, Sendable, Hashable {
    case none = 0
    /// The store is over `--quota-backend-bytes`: writes are refused until
    /// space is freed (compaction) and the alarm is disarmed.
    case noSpace = 1
    case corrupt = 2

    /// The name etcd prints (the protobuf enum value name).
    public var name: String {
        switch self {
        case .none: "NONE"
        case .noSpace: "NOSPACE"
        case .corrupt: "CORRUPT"
        }
    }
}

/// A raised alarm: which member raised it and what kind. Alarms are
/// replicated state, raised and disarmed through the log, so every member
/// refuses the same writes.
public struct AlarmMember: Sendable, Hashable {
    public var memberID: UInt64
    public var alarm: AlarmType

    public init(memberID: UInt64, alarm: AlarmType) {
        self.memberID = memberID
        self.alarm = alarm
    }

    /// As etcd prints an alarm in `alarm list` and in Status errors (the
    /// Go protobuf text form, trailing space included).
    public var text: String { "memberID:\(memberID) alarm:\(alarm.name) " }
}
