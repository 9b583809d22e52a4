internal import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure the backend reports. The backend has its own error type,
/// apart from the WAL's `StorageError`, because its failures come from LMDB
/// and carry LMDB's code and text: an operator searching for
/// "MDB_MAP_FULL" or "MDB_INVALID" should find the same words we print.
///
/// `description` names the file, says what went wrong and what the operator
/// can do; `code` (where there is one) is LMDB's return value: an errno when
/// positive, an `MDB_*` code when negative.
public enum BackendError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An LMDB call failed for a reason not listed below (`ENOSPC`, `EIO`,
    /// `MDB_READERS_FULL`, `MDB_TXN_FULL`, …). `message` is `mdb_strerror`'s
    /// text.
    case lmdb(operation: String, path: String, code: Int32, message: String)
    /// The path cannot be used: its directory cannot be created or written,
    /// or the path is a directory. Nothing was changed.
    case inaccessible(path: String, code: Int32, message: String)
    /// The file exists but is not an LMDB database this library can open:
    /// foreign or damaged header pages (`MDB_INVALID`), another LMDB data
    /// format (`MDB_VERSION_MISMATCH`), or damage found while reading
    /// (`MDB_CORRUPTED`, `MDB_PAGE_NOTFOUND`).
    case notADatabase(path: String, code: Int32, message: String)
    /// Another `Backend`, in this process or another, has the file open.
    /// LMDB must not be opened twice by one process (its fcntl locks would
    /// break), and two members must never share a data directory.
    case inUse(path: String)
    /// The bucket was not named when the backend was opened.
    case unknownBucket(name: String, path: String)
    /// A key is empty: LMDB cannot store zero-length keys.
    case emptyKey(bucket: String)
    /// A key is longer than LMDB's limit (`mdb_env_get_maxkeysize`, 511 bytes
    /// in Debian's build). etcd keys can be 1.5 MiB, so the MVCC layer keys
    /// its `key` bucket by 17-byte revisions and keeps user keys in values.
    case keyTooLong(bucket: String, length: Int, maximum: Int)
    /// A value is larger than LMDB can hold in one record (4 GiB - 1).
    case valueTooLarge(bucket: String, length: Int)
    /// The database needs more than `BackendOptions.maximumMapSize` bytes.
    case full(path: String, mapSize: Int)
    /// The options cannot work (for instance a map size of zero).
    case invalidOptions(reason: String)
    /// `write`, `sync` or `close` was called from inside a `read` or `write`
    /// closure on the same thread. It would wait for the enclosing
    /// transaction, which waits for it; finish the outer transaction first.
    case nestedTransaction(path: String)
    /// `close()` was called; the backend accepts nothing more.
    case closed(path: String)
    /// An earlier failure left the backend in an unknown state (a failed
    /// `sync()`, whose dirty pages the kernel may have dropped, or a failed
    /// remap). Every later call fails until the member restarts.
    case unusable(path: String, cause: String)
    /// A backend image (`BackendImage`) is damaged, truncated or foreign;
    /// nothing was replaced.
    case corruptImage(reason: String)

    /// LMDB's (or the system's) code, when the failure came from a call.
    public var code: Int32? {
        switch self {
        case let .lmdb(_, _, code, _), let .inaccessible(_, code, _), let .notADatabase(_, code, _):
            return code
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case let .lmdb(operation, path, code, message):
            return "backend \(path): \(operation) failed: \(message) (\(code)). " + BackendError.advice(for: code)
        case let .inaccessible(path, code, message):
            return "backend \(path) cannot be opened: \(message) (\(code)). Check that the data directory exists "
                + "or can be created, is a directory, and is writable by the user running the member."
        case let .notADatabase(path, code, message):
            return "backend \(path) is not a usable LMDB database: \(message) (\(code)). "
                + "If --data-dir is right, the file is damaged: keep it aside for diagnosis, then restore the "
                + "member from a snapshot (etcdctl snapshot restore) or remove it from the cluster and re-add it "
                + "with an empty data directory."
        case let .inUse(path):
            return "backend \(path) is already open in this or another process; "
                + "two members must not share a data directory."
        case let .unknownBucket(name, path):
            return "backend \(path) has no bucket \"\(name)\" (buckets are named when the backend is opened)"
        case let .emptyKey(bucket):
            return "bucket \(bucket): keys must not be empty"
        case let .keyTooLong(bucket, length, maximum):
            return "bucket \(bucket): key of \(length) bytes is longer than the backend's limit of \(maximum) bytes"
        case let .valueTooLarge(bucket, length):
            return "bucket \(bucket): value of \(length) bytes is larger than the backend can store"
        case let .full(path, mapSize):
            return "backend \(path) is full at \(mapSize) bytes (BackendOptions.maximumMapSize). "
                + "Compact old revisions, or raise the limit if the disk has room."
        case let .invalidOptions(reason):
            return "invalid backend options: \(reason)"
        case let .nestedTransaction(path):
            return "backend \(path): write, sync or close called inside a transaction on the same thread; "
                + "finish the enclosing transaction first"
        case let .closed(path):
            return "backend \(path) is closed"
        case let .unusable(path, cause):
            return "backend \(path) is unusable after an earlier failure (\(cause)); restart the member"
        case let .corruptImage(reason):
            return "backend image refused: \(reason); the leader will send another"
        }
    }

    /// What an operator can do about a failed call, by code.
    static func advice(for code: Int32) -> String {
        switch code {
        case ENOSPC: return "The disk is full: free space, then retry."
        case EIO: return "The disk reported an I/O error: check it (dmesg, SMART)."
        case MDB_READERS_FULL: return "Too many concurrent read transactions: raise BackendOptions.maxReaders."
        case MDB_TXN_FULL: return "The transaction touched too many pages: commit in smaller batches."
        default: return "This is unexpected; report it with the message above."
        }
    }
}
