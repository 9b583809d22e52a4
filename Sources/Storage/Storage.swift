/// Durable storage for a member: the write-ahead log (`WriteAheadLog`),
/// Raft snapshot files (`SnapshotStore`) and the file-system boundary they
/// share (`FileSystem`, with `POSIXFileSystem` for real disks and
/// `SimulatedFileSystem` for crash tests), and the LMDB key-value backend
/// for the MVCC store (`Backend`). Design notes: Docs/storage.md.
///
/// The module knows nothing of Raft or MVCC: records and snapshots are
/// opaque bytes the server encodes with Raft's own codec, and the backend
/// holds byte keys and values in buckets the caller names.
public enum StorageLayout {
    /// Where etcd keeps its write-ahead log inside `--data-dir`.
    public static let walDirectory = "member/wal"
    /// Where etcd keeps Raft snapshots inside `--data-dir`.
    public static let snapDirectory = "member/snap"

    /// Where etcd keeps its backend database (bbolt there, LMDB here).
    public static let backendFile = "member/snap/db"

    /// `<dataDirectory>/member/wal`.
    public static func walDirectory(in dataDirectory: String) -> String {
        Path.join(dataDirectory, walDirectory)
    }

    /// `<dataDirectory>/member/snap`.
    public static func snapDirectory(in dataDirectory: String) -> String {
        Path.join(dataDirectory, snapDirectory)
    }

    /// `<dataDirectory>/member/snap/db`, the path to give `Backend`.
    public static func backendPath(in dataDirectory: String) -> String {
        Path.join(dataDirectory, backendFile)
    }
}
