/// The history of one key (etcd's `keyIndex`): every version the store
/// still holds, oldest first.
///
/// etcd groups a key's history into *generations*: a generation starts with
/// the put that creates the key and ends with the tombstone that deletes it;
/// re-creating the key starts a new generation with a new `createRevision`
/// and `version` 1. Here the generations are laid out back to back in one
/// array (`entries`), each entry carrying its generation's create revision
/// and its version inside it, and a tombstone is an entry with version 0.
/// That makes a read at any revision one binary search and keeps a key with
/// a single version down to two allocations (key and entries); the values
/// themselves are shared, never copied, and once the backend holds them
/// they leave memory altogether (`value` nil, read through the store's
/// `ValueSource`).
struct KeyIndex: Sendable {
    /// One stored version of the key, or a tombstone ending a generation.
    struct Entry: Sendable, Hashable {
        var revision: Revision
        /// Main revision of the put that began this generation (0 for a tombstone).
        var createRevision: Int64
        /// Position in the generation, from 1; 0 marks a tombstone.
        var version: Int64
        /// The value while it is held in memory; nil once released to the
        /// store's value source (never nil for a tombstone, whose value is empty).
        var value: [UInt8]?
        var lease: Int64
        /// The value's length, known even when the value is not in memory
        /// (the store's size estimate charges it).
        var valueSize: Int

        init(revision: Revision, createRevision: Int64, version: Int64, value: [UInt8]?, valueSize: Int? = nil, lease: Int64) {
            self.revision = revision
            self.createRevision = createRevision
            self.version = version
            self.value = value
            self.lease = lease
            self.valueSize = valueSize ?? value?.count ?? 0
        }

        var isTombstone: Bool { version == 0 }
    }

    let key: [UInt8]
    private(set) var entries: [Entry] = []

    init(key: [UInt8]) {
        self.key = key
    }

    /// No history left: the index can forget the key.
    var isEmpty: Bool { entries.isEmpty }

    /// The key's current version, `nil` if it is deleted (or never existed).
    var live: Entry? {
        guard let last = entries.last, !last.isTombstone else { return nil }
        return last
    }

    /// Records a put at `revision`, which must be newer than everything held.
    /// Continues the current generation, or starts a new one after a tombstone.
    @discardableResult
    mutating func put(at revision: Revision, value: [UInt8], lease: Int64) -> Entry {
        let entry: Entry
        if let current = live {
            entry = Entry(
                revision: revision, createRevision: current.createRevision,
                version: current.version + 1, value: value, lease: lease)
        } else {
            entry = Entry(
                revision: revision, createRevision: revision.main, version: 1,
                value: value, lease: lease)
        }
        entries.append(entry)
        return entry
    }

    /// Lets go of the in-memory value of the version written at `revision`
    /// (its backend holds it now); returns the bytes released.
    @discardableResult
    mutating func releaseValue(at revision: Revision) -> Int {
        guard let i = lastIndex(atOrBelow: revision.main) else { return 0 }
        var j = i
        while j >= 0 && entries[j].revision.main == revision.main {
            if entries[j].revision.sub == revision.sub {
                guard !entries[j].isTombstone, let value = entries[j].value else { return 0 }
                entries[j].value = nil
                return value.count
            }
            j -= 1
        }
        return 0
    }

    /// Ends the current generation at `revision`. Returns false (and records
    /// nothing) when the key is not live: deleting nothing is not a change.
    @discardableResult
    mutating func tombstone(at revision: Revision) -> Bool {
        guard live != nil else { return false }
        entries.append(Entry(revision: revision, createRevision: 0, version: 0, value: [], lease: 0))
        return true
    }

    /// Appends an entry read back from a snapshot, as it was stored.
    mutating func restore(_ entry: Entry) {
        entries.append(entry)
    }

    /// Index of the newest entry whose main revision is `<= main`, if any.
    private func lastIndex(atOrBelow main: Int64) -> Int? {
        // Binary search for the first entry with revision.main > main.
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].revision.main <= main {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low == 0 ? nil : low - 1
    }

    /// The version visible at main revision `atRev` (etcd's `keyIndex.get`):
    /// `nil` when the key did not exist then, or its generation was deleted.
    func get(atRev: Int64) -> Entry? {
        guard let i = lastIndex(atOrBelow: atRev) else { return nil }
        let entry = entries[i]
        return entry.isTombstone ? nil : entry
    }

    /// The entry written exactly at `revision`, used to replay history.
    func entry(at revision: Revision) -> Entry? {
        guard let i = lastIndex(atOrBelow: revision.main) else { return nil }
        // Several entries can share a main revision (one txn); scan back
        // over them, at most the entries of that one revision.
        var j = i
        while j >= 0 && entries[j].revision.main == revision.main {
            if entries[j].revision.sub == revision.sub { return entries[j] }
            j -= 1
        }
        return nil
    }

    /// Drops history no longer reachable once revisions below `atRev` are
    /// compacted (etcd's `keyIndex.compact`): keeps the newest entry at or
    /// below `atRev` so reads at `atRev` still see it, unless that entry is a
    /// tombstone, in which case its whole generation goes.
    mutating func compact(atRev: Int64) {
        guard let i = lastIndex(atOrBelow: atRev) else { return }
        if entries[i].isTombstone {
            entries.removeSubrange(0...i)
        } else if i > 0 {
            entries.removeSubrange(0..<i)
        }
    }

    /// Removes every entry written at main revision `main` (always the
    /// newest ones): undoes a transaction that failed part-way.
    mutating func removeEntries(atMain main: Int64) {
        while let last = entries.last, last.revision.main == main {
            entries.removeLast()
        }
    }

    /// The client-facing form of `entry`, with `value` standing in for a
    /// value that is not in memory (the store fills those in; see
    /// `KVStore.resolve`).
    func keyValue(_ entry: Entry, value: [UInt8]? = nil) -> KeyValue {
        KeyValue(
            key: key, createRevision: entry.createRevision, modRevision: entry.revision.main,
            version: entry.version, value: entry.value ?? value ?? [], lease: entry.lease)
    }
}
