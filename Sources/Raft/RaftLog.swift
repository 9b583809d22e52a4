/// The log as Raft sees it: the caller's persisted `LogStorage` followed by the `UnstableLog`,
/// plus the commit and applied cursors.
struct RaftLog: Sendable {
    let storage: any LogStorage
    var unstable: UnstableLog
    /// Highest index known to be stored on a quorum.
    var committed: UInt64
    /// Highest index the caller has applied to its state machine (reported through `advance`).
    var applied: UInt64
    /// Cap on the bytes of committed entries handed out in one `Ready`.
    let maxCommittedBytesPerReady: UInt64

    init(storage: any LogStorage, maxCommittedBytesPerReady: UInt64) {
        self.storage = storage
        let first = storage.firstIndex(), last = storage.lastIndex()
        unstable = UnstableLog(offset: last + 1)
        committed = first - 1
        applied = first - 1
        self.maxCommittedBytesPerReady = maxCommittedBytesPerReady
    }

    var firstIndex: UInt64 { unstable.firstIndex ?? storage.firstIndex() }
    var lastIndex: UInt64 { unstable.lastIndex ?? storage.lastIndex() }
    var lastTerm: UInt64 { termOrZero(at: lastIndex) }

    /// The term of the entry at `index`. Indices past the end have term 0, which never matches
    /// a real term; indices before the snapshot throw `.compacted`.
    func term(at index: UInt64) throws(StorageError) -> UInt64 {
        let dummy = firstIndex - 1
        guard index >= dummy else { throw .compacted }
        guard index <= lastIndex else { return 0 }
        if let t = unstable.term(at: index) { return t }
        return try storage.term(at: index)
    }

    func termOrZero(at index: UInt64) -> UInt64 { (try? term(at: index)) ?? 0 }

    func matchTerm(index: UInt64, term: UInt64) -> Bool {
        guard index <= lastIndex, let t = try? self.term(at: index) else { return false }
        return t == term
    }

    /// §5.4.1: a candidate's log is at least as up-to-date as ours.
    func isUpToDate(lastIndex candidateIndex: UInt64, term candidateTerm: UInt64) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// The follower side of AppendEntries: if our log has (index, logTerm), append `entries`
    /// (replacing a conflicting suffix) and advance commit. Returns the last new index, or nil
    /// if the consistency check failed.
    mutating func maybeAppend(index: UInt64, logTerm: UInt64, commit: UInt64, entries: [Entry]) -> UInt64? {
        guard matchTerm(index: index, term: logTerm) else { return nil }
        let lastNew = index + UInt64(entries.count)
        let conflict = firstConflict(in: entries)
        if conflict != 0 {
            guard conflict > committed else {
                // Only a broken or malicious leader asks to overwrite committed entries. Refuse
                // rather than crash in production; in debug builds (tests, the simulator) stop.
                assertionFailure("entry \(conflict) conflicts with committed entry (committed \(committed))")
                return nil
            }
            append(Array(entries[Int(conflict - index - 1)...]))
        }
        self.commit(to: Swift.min(commit, lastNew))
        return lastNew
    }

    /// The first entry whose term differs from ours (or that we lack), or 0 if all match.
    func firstConflict(in entries: [Entry]) -> UInt64 {
        for e in entries where !matchTerm(index: e.index, term: e.term) { return e.index }
        return 0
    }

    /// The largest index ≤ `index` whose term is ≤ `term`. Used on both sides of a rejected
    /// append to skip, in one round trip, every entry that cannot match (fast backtracking).
    func findConflictByTerm(index: UInt64, term: UInt64) -> UInt64 {
        guard index <= lastIndex else { return index }
        var i = index
        while i > 0 {
            guard let t = try? self.term(at: i), t > term else { break }
            i -= 1
        }
        return i
    }

    @discardableResult
    mutating func append(_ entries: [Entry]) -> UInt64 {
        guard let first = entries.first else { return lastIndex }
        precondition(first.index > committed, "appending at \(first.index) would overwrite committed \(committed)")
        unstable.truncateAndAppend(entries)
        return lastIndex
    }

    mutating func commit(to index: UInt64) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
        committed = index
    }

    /// Commit only entries of the current term by counting replicas (§5.4.2); earlier entries
    /// become committed indirectly.
    mutating func maybeCommit(index: UInt64, term: UInt64) -> Bool {
        guard index > committed, termOrZero(at: index) == term else { return false }
        commit(to: index)
        return true
    }

    mutating func applied(to index: UInt64) {
        guard index != 0 else { return }
        precondition(index <= committed && index >= applied, "applied \(index) outside \(applied)...\(committed)")
        applied = index
    }

    mutating func restore(_ snapshot: Snapshot) {
        committed = snapshot.metadata.index
        unstable.restore(snapshot)
    }

    func snapshot() throws(StorageError) -> Snapshot {
        if let s = unstable.snapshot { return s }
        return try storage.snapshot()
    }

    var unstableEntries: [Entry] { unstable.entries }

    /// The last index that is both persisted and still part of our log. Only this much of the
    /// leader's own log may count towards commit: counting unpersisted entries would let a
    /// crash lose an entry the cluster already considers committed.
    var persistedLastIndex: UInt64 {
        guard unstable.snapshot == nil else { return 0 }
        return Swift.min(storage.lastIndex(), unstable.offset - 1)
    }

    /// Committed entries not yet handed to the caller for applying.
    func nextCommittedEntries(after cursor: UInt64) -> [Entry] {
        let lo = Swift.max(cursor + 1, firstIndex)
        guard committed + 1 > lo else { return [] }
        return (try? slice(from: lo, to: committed + 1, maxBytes: maxCommittedBytesPerReady)) ?? []
    }

    func hasCommittedEntries(after cursor: UInt64) -> Bool {
        committed + 1 > Swift.max(cursor + 1, firstIndex)
    }

    func entries(from index: UInt64, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        guard index <= lastIndex else { return [] }
        return try slice(from: index, to: lastIndex + 1, maxBytes: maxBytes)
    }

    /// Entries `lo..<hi`, from storage and then the unstable tail, limited to `maxBytes`.
    func slice(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        guard lo < hi else { return [] }
        guard lo >= firstIndex else { throw .compacted }
        guard hi <= lastIndex + 1 else { throw .unavailable }
        var result: [Entry] = []
        if lo < unstable.offset {
            let storedHi = Swift.min(hi, unstable.offset)
            result = try storage.entries(from: lo, to: storedHi, maxBytes: maxBytes)
            if UInt64(result.count) < storedHi - lo { return result }
        }
        if hi > unstable.offset {
            result.append(contentsOf: unstable.slice(from: Swift.max(lo, unstable.offset), to: hi))
        }
        return result.limited(toBytes: maxBytes)
    }
}
