/// Values out of memory: once the server's backend holds a version, the
/// store forgets its value and reads it back through `valueSource` when a
/// client needs it (see `ValueSource`).
extension KVStore {
    /// The owner's backend now holds every version written at a main
    /// revision up to `revision`: their values leave memory (when there is
    /// a `valueSource` to read them back from), and their journal records,
    /// kept for the backend until now, go if a compaction has passed them.
    public mutating func markPersisted(through revision: Int64) {
        let from = persistedThrough ?? 0
        guard revision > from else { return }
        if valueSource != nil {
            let records = log.records
            var i = log.firstIndex(atOrAfter: from + 1)
            while i < records.count && records[i].revision.main <= revision {
                let record = records[i]
                i += 1
                index.modifyExisting(record.key) { ki in ki.releaseValue(at: record.revision) }
            }
        }
        persistedThrough = revision
        log.removeThrough(main: min(compactMainRevision - 1, revision))
    }

    /// The client-facing form of `entry` of `ki`, its value read from the
    /// source when it is not in memory.
    func keyValue(_ ki: KeyIndex, _ entry: KeyIndex.Entry) -> KeyValue {
        Self.keyValue(ki, entry, from: valueSource)
    }

    /// As `keyValue(_:_:)`, for use while the index is being modified (when
    /// `self` cannot be read).
    static func keyValue(_ ki: KeyIndex, _ entry: KeyIndex.Entry, from source: (any ValueSource)?) -> KeyValue {
        guard entry.value == nil, !entry.isTombstone, let source else { return ki.keyValue(entry) }
        return ki.keyValue(entry, value: source.values(at: [entry.revision]).first ?? [])
    }
}

/// Key-values gathered by a read whose values are partly still to be read
/// from the value source: collected first, then filled in with one call to
/// the source for all of them.
struct KeyValueCollector {
    private(set) var kvs: [KeyValue] = []
    private var missing: [Int] = []
    private var revisions: [Revision] = []

    var count: Int { kvs.count }

    /// Adds `entry` of `ki`; with `withValue` false the value is left empty
    /// (keys-only reads never touch the source).
    mutating func append(_ ki: KeyIndex, _ entry: KeyIndex.Entry, withValue: Bool = true) {
        if entry.value == nil && withValue && !entry.isTombstone {
            missing.append(kvs.count)
            revisions.append(entry.revision)
        }
        kvs.append(ki.keyValue(entry))
    }

    /// The key-values, with every missing value read from `source`.
    consuming func finish(from source: (any ValueSource)?) -> [KeyValue] {
        guard !missing.isEmpty, let source else { return kvs }
        let values = source.values(at: revisions)
        for (position, value) in zip(missing, values) { kvs[position].value = value }
        return kvs
    }
}
