import Synchronization

/// An in-memory `LogStorage`, the equivalent of etcd-io/raft's `MemoryStorage`.
///
/// The caller feeds it from each `Ready` (`setHardState`, `append`, `applySnapshot`) and trims
/// it once the state machine has applied and snapshotted a prefix (`createSnapshot`, `compact`).
/// In tests it doubles as the "disk" of a crashable node: whatever was written here survives a
/// simulated crash, whatever Raft still held in memory does not.
public final class MemoryStorage: LogStorage {
    private struct State: Sendable {
        var hardState = HardState()
        var snapshot = Snapshot()
        /// `entries[0]` is a dummy holding the snapshot's (index, term); real entries follow.
        var entries: [Entry] = [Entry(term: 0, index: 0)]

        var offset: UInt64 { entries[0].index }
        var lastIndex: UInt64 { offset + UInt64(entries.count) - 1 }
    }

    private let state = Mutex(State())

    public init() {}

    /// A storage that starts with a snapshot, e.g. a brand-new cluster's initial membership.
    public convenience init(snapshot: Snapshot) {
        self.init()
        applySnapshot(snapshot)
    }

    // MARK: LogStorage

    public func initialState() -> (hardState: HardState, confState: ConfState) {
        state.withLock { ($0.hardState, $0.snapshot.metadata.confState) }
    }

    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        let result: Result<[Entry], StorageError> = state.withLock { s in
            guard lo > s.offset else { return .failure(.compacted) }
            guard hi <= s.lastIndex + 1 else { return .failure(.unavailable) }
            guard lo < hi else { return .success([]) }
            let start = Int(lo - s.offset), end = Int(hi - s.offset)
            return .success(Array(s.entries[start..<end]).limited(toBytes: maxBytes))
        }
        return try result.get()
    }

    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        let result: Result<UInt64, StorageError> = state.withLock { s in
            guard index >= s.offset else { return .failure(.compacted) }
            guard index <= s.lastIndex else { return .failure(.unavailable) }
            return .success(s.entries[Int(index - s.offset)].term)
        }
        return try result.get()
    }

    public func firstIndex() -> UInt64 { state.withLock { $0.offset + 1 } }

    public func lastIndex() -> UInt64 { state.withLock { $0.lastIndex } }

    public func snapshot() throws(StorageError) -> Snapshot { state.withLock { $0.snapshot } }

    // MARK: Writes by the caller

    /// Persists `Ready.hardState`.
    public func setHardState(_ hardState: HardState) {
        state.withLock { $0.hardState = hardState }
    }

    /// Persists `Ready.entries`. Entries that overlap the stored log replace it from the first
    /// overlapping index on (a new leader overwrote an uncommitted suffix); entries already
    /// covered by the snapshot are ignored. The entries must continue the log without a gap.
    public func append(_ newEntries: [Entry]) {
        guard let first = newEntries.first else { return }
        state.withLock { s in
            let firstKept = s.offset + 1
            guard let last = newEntries.last, last.index >= firstKept else { return }
            var toAppend = newEntries[...]
            if first.index < firstKept { toAppend = newEntries[Int(firstKept - first.index)...] }
            guard let head = toAppend.first else { return }
            precondition(head.index <= s.lastIndex + 1, "MemoryStorage.append: gap before \(head.index)")
            s.entries.removeSubrange(Int(head.index - s.offset)...)
            s.entries.append(contentsOf: toAppend)
        }
    }

    /// Replaces the whole log with `snapshot` (`Ready.snapshot`). Older snapshots are ignored.
    public func applySnapshot(_ snapshot: Snapshot) {
        state.withLock { s in
            guard snapshot.metadata.index >= s.snapshot.metadata.index else { return }
            s.snapshot = snapshot
            s.entries = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index)]
        }
    }

    /// Records a snapshot of the state machine as of `index`, which must be applied already
    /// and still present in the log. Returns nil if a newer snapshot already exists.
    @discardableResult
    public func createSnapshot(index: UInt64, confState: ConfState, data: [UInt8]) -> Snapshot? {
        state.withLock { s -> Snapshot? in
            guard index > s.snapshot.metadata.index, index >= s.offset, index <= s.lastIndex else { return nil }
            let term = s.entries[Int(index - s.offset)].term
            s.snapshot = Snapshot(data: data, metadata: SnapshotMetadata(index: index, term: term, confState: confState))
            return s.snapshot
        }
    }

    /// Discards entries up to and including `index` (which must not exceed the applied index,
    /// else a follower that needs them would be forced onto a snapshot that does not yet cover
    /// them). Compacting at or below the current first index is a no-op.
    public func compact(through index: UInt64) {
        state.withLock { s in
            guard index > s.offset, index <= s.lastIndex else { return }
            let drop = Int(index - s.offset)
            s.entries.removeFirst(drop)
            s.entries[0].data = []
            s.entries[0].type = .normal
        }
    }

    /// A copy of all stored entries (tests and diagnostics).
    public func allEntries() -> [Entry] { state.withLock { Array($0.entries.dropFirst()) } }

    public var hardState: HardState { state.withLock { $0.hardState } }
}
