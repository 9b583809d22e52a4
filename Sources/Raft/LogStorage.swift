/// The durable log Raft reads from. The caller owns and writes it; Raft only reads.
///
/// Ownership and ordering contract (the same as etcd-io/raft's `Storage`):
/// - The caller appends `Ready.entries`, saves `Ready.hardState` and applies `Ready.snapshot` to
///   the storage *before* calling `RaftNode.advance`, and never changes it otherwise except by
///   compaction (`MemoryStorage.compact`) of entries that are already applied.
/// - Entries are contiguous: `firstIndex() ... lastIndex()` are all readable; the entry at
///   `firstIndex() - 1` exists only as the snapshot's (index, term), readable via `term(at:)`.
/// - Reads must be consistent with what Raft was told was persisted. Errors other than the
///   `StorageError` cases are not expected: a storage that cannot read its own log cannot
///   participate safely, and Raft stops the process (as etcd panics).
///
/// Storage is a reference type because it is shared between Raft (reads) and the caller
/// (writes), exactly as in etcd; implementations must be safe to use from any thread.
public protocol LogStorage: AnyObject, Sendable {
    /// The persisted hard state and membership, read once when a node starts.
    func initialState() -> (hardState: HardState, confState: ConfState)
    /// Entries in `lo..<hi`, truncated to at most `maxBytes` (but at least one entry).
    func entries(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) throws(StorageError) -> [Entry]
    /// The term of the entry at `index`; valid for `firstIndex() - 1 ... lastIndex()`.
    func term(at index: UInt64) throws(StorageError) -> UInt64
    /// Index of the first entry still held (snapshot index + 1).
    func firstIndex() -> UInt64
    /// Index of the last entry held (the snapshot index if the log is empty).
    func lastIndex() -> UInt64
    /// The most recent snapshot, sent to followers that are too far behind.
    func snapshot() throws(StorageError) -> Snapshot
}
