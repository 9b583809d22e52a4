/// Durable storage for a member: the write-ahead log, Raft snapshots and the
/// on-disk MVCC backend. Filled in by the durable-storage issue; until then
/// a member keeps its state in memory only.
public enum StorageLayout {
    /// Where etcd keeps its write-ahead log inside `--data-dir`.
    public static let walDirectory = "member/wal"
    /// Where etcd keeps Raft snapshots inside `--data-dir`.
    public static let snapDirectory = "member/snap"
}
