/// Why a `LogStorage` read could not be served.
public enum StorageError: Error, Sendable, Hashable {
    /// The requested index is at or below the snapshot: the entry was compacted away.
    /// Raft reacts by sending the follower a snapshot instead.
    case compacted
    /// The requested index is beyond the last stored entry.
    case unavailable
    /// The snapshot is being produced; Raft will retry later.
    case snapshotTemporarilyUnavailable
}
