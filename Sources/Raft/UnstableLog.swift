/// The tail of the log that Raft holds in memory but the caller has not yet persisted.
///
/// It is handed out in `Ready.entries` / `Ready.snapshot` and dropped once `advance` reports it
/// stable. If the process crashes before that, it is lost, which is safe because nothing that
/// depends on it has been acknowledged to anyone (see the Ready contract in `Ready`).
struct UnstableLog: Sendable {
    /// An incoming snapshot not yet persisted; when set, it precedes `entries`.
    var snapshot: Snapshot?
    var entries: [Entry] = []
    /// Log index of `entries[0]`.
    var offset: UInt64

    init(offset: UInt64) { self.offset = offset }

    var firstIndex: UInt64? { snapshot.map { $0.metadata.index + 1 } }

    var lastIndex: UInt64? {
        if !entries.isEmpty { return offset + UInt64(entries.count) - 1 }
        return snapshot?.metadata.index
    }

    func term(at index: UInt64) -> UInt64? {
        if index < offset {
            guard let snapshot, snapshot.metadata.index == index else { return nil }
            return snapshot.metadata.term
        }
        guard let last = lastIndex, index <= last else { return nil }
        return entries[Int(index - offset)].term
    }

    /// Forgets entries up to `index` once they are persisted, but only if the entry there still
    /// has `term`: a newer leader may have replaced it while the write was in flight.
    mutating func stableTo(index: UInt64, term: UInt64) {
        guard index >= offset, self.term(at: index) == term else { return }
        entries.removeFirst(Int(index + 1 - offset))
        offset = index + 1
    }

    mutating func stableSnapshotTo(index: UInt64) {
        if snapshot?.metadata.index == index { snapshot = nil }
    }

    mutating func restore(_ snapshot: Snapshot) {
        offset = snapshot.metadata.index + 1
        entries = []
        self.snapshot = snapshot
    }

    /// Appends `newEntries`, first discarding any held entries they overwrite.
    mutating func truncateAndAppend(_ newEntries: [Entry]) {
        guard let after = newEntries.first?.index else { return }
        if after == offset + UInt64(entries.count) {
            entries.append(contentsOf: newEntries)
        } else if after <= offset {
            // Replaces everything unstable; the storage suffix from `after` is overwritten too
            // when the caller persists these entries.
            offset = after
            entries = newEntries
        } else {
            entries.removeSubrange(Int(after - offset)...)
            entries.append(contentsOf: newEntries)
        }
    }

    func slice(from lo: UInt64, to hi: UInt64) -> ArraySlice<Entry> {
        entries[Int(lo - offset)..<Int(hi - offset)]
    }
}
