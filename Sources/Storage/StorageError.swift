/// Every failure the storage layer reports. Cases carry the file (and, for
/// corruption, the byte offset) so an operator reading a log line knows
/// exactly which file to look at.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed. `errno` is the raw POSIX error number.
    case io(operation: String, path: String, errno: Int32)
    /// The simulated machine is down: a crash point was reached. Only the
    /// `SimulatedFileSystem` throws this; the caller must treat it like a
    /// power loss (stop, then `crash()` and reopen).
    case simulatedCrash(operation: String, path: String)
    /// The path does not exist.
    case notFound(path: String)
    /// The path exists but is the wrong kind of thing (file vs directory),
    /// or an exclusive create found it already there.
    case invalidPath(path: String, reason: String)
    /// `WriteAheadLog.open` found no segment files in the directory.
    case walNotFound(directory: String)
    /// `WriteAheadLog.create` found segment files already present.
    case walAlreadyExists(directory: String)
    /// A record or segment failed verification somewhere other than a torn
    /// tail. Acknowledged data may be damaged, so nothing is dropped and the
    /// log refuses to open.
    case corruptWAL(file: String, offset: Int, reason: String)
    /// The snapshot marker the caller asked to open from is not in the log.
    case snapshotMarkerNotFound(index: UInt64, term: UInt64)
    /// The caller asked for the whole log (no snapshot) but its oldest
    /// segments were released after a snapshot: the entries before
    /// `firstSegment` exist only in a snapshot, which must be loaded.
    case snapshotRequired(directory: String, firstSegment: String)
    /// A caller asked to append something the format cannot hold.
    case invalidRecord(reason: String)
    /// An earlier write or sync failed; the log's on-disk state is unknown
    /// (after a failed fsync the kernel may have dropped dirty pages), so
    /// every later call fails until the process restarts and reopens.
    case walFailed(cause: String)
    /// A snapshot file failed verification.
    case corruptSnapshot(file: String, reason: String)

    /// The advice printed with every corruption error: what an operator of
    /// an etcd-compatible cluster can do about a damaged member.
    public static let operatorAdvice =
        "The member refuses to start rather than silently drop acknowledged data. "
        + "Restore this member from a snapshot (etcdctl snapshot restore) or remove it "
        + "from the cluster (etcdctl member remove) and re-add it with an empty data directory."

    public var description: String {
        switch self {
        case let .io(operation, path, errno):
            return "\(operation) \(path) failed: errno \(errno)"
        case let .simulatedCrash(operation, path):
            return "simulated crash during \(operation) \(path)"
        case let .notFound(path):
            return "\(path): no such file or directory"
        case let .invalidPath(path, reason):
            return "\(path): \(reason)"
        case let .walNotFound(directory):
            return "no write-ahead log segments in \(directory)"
        case let .walAlreadyExists(directory):
            return "write-ahead log already exists in \(directory)"
        case let .corruptWAL(file, offset, reason):
            return "write-ahead log corrupt in \(file) at byte offset \(offset): \(reason). "
                + StorageError.operatorAdvice
        case let .snapshotMarkerNotFound(index, term):
            return "write-ahead log has no snapshot marker for index \(index) term \(term)"
        case let .snapshotRequired(directory, firstSegment):
            return "write-ahead log in \(directory) starts at \(firstSegment) (older segments were released "
                + "after a snapshot) but no usable snapshot was given. " + StorageError.operatorAdvice
        case let .invalidRecord(reason):
            return "invalid write-ahead log record: \(reason)"
        case let .walFailed(cause):
            return "write-ahead log unusable after an earlier failure (\(cause)); restart the member"
        case let .corruptSnapshot(file, reason):
            return "snapshot \(file) is corrupt: \(reason)"
        }
    }
}
