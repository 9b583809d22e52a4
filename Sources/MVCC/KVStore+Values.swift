/// Values out of memory: once the server's backend holds a version, the
/// store forgets its value and reads it back through `valueSource` when a
/// client needs it (see `ValueSource`).
extension KVStore {
    /// Forgets the in-memory values of every version written at a main
    /// revision up to `revision`, which the value source must hold from now
    /// on. Without a source it does nothing: the values have nowhere else
    /// to be read from.
    public mutating func releaseValues(through revision: Int64) {
        guard valueSource != nil, revision > releasedThrough else { return }
        let records = log.records
        var i = log.firstIndex(atOrAfter: releasedThrough + 1)
        while i < records.count && records[i].revision.main <= revision {
            let record = records[i]
            i += 1
            index.modifyExisting(record.key) { ki in ki.releaseValue(at: record.revision) }
        }
        releasedThrough = revision
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
