import MVCC

/// What applying one command produced, handed to the member that proposed
/// it (and dropped on the others).
public enum ApplyResult: Sendable {
    case put(PutResponse)
    case deleteRange(DeleteRangeResponse)
    case txn(TxnResponse)
    case compact(revision: Int64)
    case leaseGrant(Lease, revision: Int64)
    case leaseRevoke(revision: Int64)
    /// The membership after a member change.
    case members([Member])
    /// The alarms an alarm request changed.
    case alarms([AlarmMember])
    /// An auth store change applied.
    case auth(AuthApplied)
    case failure(EtcdError)
}

/// The replicated state machine: the MVCC store and its lessor, changed only
/// by applying committed commands in log order. Deterministic, so every
/// member that applies the same log holds the same store.
struct StateMachine: Sendable {
    var store: KVStore
    /// Raised alarms, oldest first.
    var alarms: [AlarmMember] = []
    /// Users, roles and whether authentication is on.
    var auth = AuthStore()

    init(store: KVStore = KVStore(), alarms: [AlarmMember] = [], auth: AuthStore = AuthStore()) {
        self.store = store
        self.alarms = alarms
        self.auth = auth
    }

    /// Whether writes that add data are refused (etcd's capped applier).
    var isCapped: Bool { alarms.contains { $0.alarm == .noSpace } }

    /// Applies one command; returns its result and the watch events it made.
    mutating func apply(_ command: Command) -> (ApplyResult, [Event]) {
        if isCapped && command.addsData { return (.failure(.noSpace), []) }
        do {
            switch command {
            case .put(let r):
                let (response, events) = try store.put(r)
                return (.put(response), events)
            case .deleteRange(let r):
                let (response, events) = store.deleteRange(r)
                return (.deleteRange(response), events)
            case .txn(let r):
                let (response, events) = try store.txn(r)
                return (.txn(response), events)
            case .compact(let r):
                // Logically now; old versions go a slice per tick
                // (`EtcdServer.continueCompaction`).
                try store.beginCompaction(r.revision)
                return (.compact(revision: store.currentRevision), [])
            case .leaseGrant(let id, let ttl):
                let lease = try store.grantLease(id: id, ttl: ttl)
                return (.leaseGrant(lease, revision: store.currentRevision), [])
            case .leaseRevoke(let id):
                let (revision, events) = try store.revokeLease(id)
                return (.leaseRevoke(revision: revision), events)
            case .alarm(let activate, let memberID, let type):
                return (.alarms(applyAlarm(activate: activate, member: AlarmMember(memberID: memberID, alarm: type))), [])
            case .auth(let c):
                switch auth.apply(c) {
                case .success(let applied): return (.auth(applied), [])
                case .failure(let error): return (.failure(error), [])
                }
            case .publish, .memberUpdate:
                // Membership lives in the server, which applies these itself.
                return (.failure(.stopped), [])
            }
        } catch {
            return (.failure(EtcdError(error)), [])
        }
    }
}

extension StateMachine {
    /// Raises or disarms one alarm; returns it if that changed anything
    /// (etcd answers an empty list otherwise).
    mutating func applyAlarm(activate: Bool, member: AlarmMember) -> [AlarmMember] {
        guard member.alarm != .none else { return [] }
        if activate {
            guard !alarms.contains(member) else { return [] }
            alarms.append(member)
        } else {
            guard let i = alarms.firstIndex(of: member) else { return [] }
            alarms.remove(at: i)
        }
        return [member]
    }
}

extension Command {
    /// Whether the command can grow the store; a NOSPACE alarm refuses
    /// exactly these, while reads, deletes and compaction go on.
    var addsData: Bool {
        switch self {
        case .put, .leaseGrant: true
        case .txn(let t): t.hasPut
        case .deleteRange, .compact, .leaseRevoke, .publish, .memberUpdate, .alarm, .auth: false
        }
    }
}

extension TxnRequest {
    /// Whether any branch (recursively) puts.
    var hasPut: Bool {
        (success + failure).contains { op in
            switch op {
            case .put: true
            case .range, .deleteRange: false
            case .txn(let t): t.hasPut
            }
        }
    }
}
