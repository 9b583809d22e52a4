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
    case failure(EtcdError)
}

/// The replicated state machine: the MVCC store and its lessor, changed only
/// by applying committed commands in log order. Deterministic, so every
/// member that applies the same log holds the same store.
struct StateMachine: Sendable {
    var store: KVStore

    init(store: KVStore = KVStore()) {
        self.store = store
    }

    /// Applies one command; returns its result and the watch events it made.
    mutating func apply(_ command: Command) -> (ApplyResult, [Event]) {
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
                try store.compact(r.revision)
                return (.compact(revision: store.currentRevision), [])
            case .leaseGrant(let id, let ttl):
                let lease = try store.grantLease(id: id, ttl: ttl)
                return (.leaseGrant(lease, revision: store.currentRevision), [])
            case .leaseRevoke(let id):
                let (revision, events) = try store.revokeLease(id)
                return (.leaseRevoke(revision: revision), events)
            case .publish, .memberUpdate:
                // Membership lives in the server, which applies these itself.
                return (.failure(.stopped), [])
            }
        } catch {
            return (.failure(EtcdError(error)), [])
        }
    }
}
