/// What an on-disk backend needs from the store, and how the store is
/// rebuilt from it (etcd's `restore`, which rebuilds the in-memory key index
/// from the backend's key bucket on start).
///
/// The store stays in memory; a backend keeps every version under its
/// revision, so the store knows nothing of files: the server asks for the
/// versions written since its last commit, and after a compaction for which
/// stored revisions may go.
extension KVStore {
    /// One version of one key as a backend stores it (etcd's key bucket
    /// record, keyed by revision).
    public struct StoredVersion: Sendable, Hashable {
        public var key: [UInt8]
        public var revision: Revision
        /// 0 for a tombstone.
        public var createRevision: Int64
        /// 0 for a tombstone.
        public var version: Int64
        public var lease: Int64
        /// The value; nil when it was not read (a restart with a value
        /// source leaves values on disk).
        public var value: [UInt8]?
        /// The value's length, also when `value` was not read.
        public var valueSize: Int

        public var isTombstone: Bool { version == 0 }

        public init(
            key: [UInt8], revision: Revision, createRevision: Int64, version: Int64, lease: Int64, value: [UInt8]?,
            valueSize: Int? = nil
        ) {
            self.key = key
            self.revision = revision
            self.createRevision = createRevision
            self.version = version
            self.lease = lease
            self.value = value
            self.valueSize = valueSize ?? value?.count ?? 0
        }
    }

    /// Every version written at a main revision above `revision`, in
    /// revision order (what a backend commit must add). Their values are
    /// still in memory: only committed versions are ever released.
    public func versions(after revision: Int64) -> [StoredVersion] {
        var out: [StoredVersion] = []
        let records = log.records
        var i = log.firstIndex(atOrAfter: revision + 1)
        while i < records.count {
            let record = records[i]
            i += 1
            guard let ki = index[record.key], let entry = ki.entry(at: record.revision) else { continue }
            out.append(
                StoredVersion(
                    key: record.key, revision: record.revision, createRevision: entry.createRevision,
                    version: entry.version, lease: entry.lease, value: entry.value ?? keyValue(ki, entry).value))
        }
        return out
    }

    /// Every retained version, in revision order (to write a whole backend).
    public func allVersions() -> [StoredVersion] {
        var out: [StoredVersion] = []
        index.forEach(from: [], to: []) { ki in
            for entry in ki.entries {
                out.append(
                    StoredVersion(
                        key: ki.key, revision: entry.revision, createRevision: entry.createRevision,
                        version: entry.version, lease: entry.lease, value: entry.value ?? keyValue(ki, entry).value))
            }
            return true
        }
        out.sort { $0.revision < $1.revision }
        return out
    }

    /// etcd's `compactMainRev` as a backend records it: -1 until the first
    /// compaction.
    public var storedCompactRevision: Int64 { compactMainRevision }

    /// Whether the store still holds the version of `key` at `revision`; a
    /// backend deletes, after a compaction, the stored versions that it no
    /// longer does.
    public func retains(key: [UInt8], revision: Revision) -> Bool {
        index[key]?.entry(at: revision) != nil
    }

    /// A lease as a backend keeps it.
    public struct StoredLease: Sendable, Hashable {
        public var id: Int64
        public var ttl: Int64

        public init(id: Int64, ttl: Int64) {
            self.id = id
            self.ttl = ttl
        }
    }

    /// Rebuilds a store from a backend's contents: `versions` in revision
    /// order (anything else is refused as corrupt), the revision counters,
    /// and the leases, which restart with their full TTL (etcd's behaviour
    /// after a restart) once `lessor` is primary. Versions read without
    /// their value are read through `valueSource` when needed.
    public init(
        restoring versions: [StoredVersion], currentRevision: Int64, compactRevision: Int64,
        leases: [StoredLease], lessor: Lessor = Lessor(), valueSource: (any ValueSource)? = nil
    ) throws(SnapshotError) {
        self.init(lessor: lessor)
        self.valueSource = valueSource
        self.persistedThrough = currentRevision
        guard currentRevision >= 1, compactRevision >= -1, compactRevision <= currentRevision else { throw .corrupt }
        self.currentRevision = currentRevision
        self.compactMainRevision = compactRevision
        var previous: Revision?
        for stored in versions {
            if let previous, !(previous < stored.revision) { throw .corrupt }
            guard stored.revision.main <= currentRevision else { throw .corrupt }
            // A value left on disk needs somewhere to be read from.
            if stored.value == nil && valueSource == nil && !stored.isTombstone { throw .corrupt }
            previous = stored.revision
            index.modify(stored.key) { ki in
                ki.restore(
                    KeyIndex.Entry(
                        revision: stored.revision, createRevision: stored.createRevision, version: stored.version,
                        value: stored.isTombstone ? [] : stored.value, valueSize: stored.valueSize, lease: stored.lease))
            }
            if stored.revision.main >= compactRevision { log.append(stored.revision, stored.key) }
        }
        for lease in leases {
            do {
                _ = try self.lessor.grant(id: lease.id, ttl: lease.ttl)
            } catch {
                throw .corrupt
            }
        }
        var attachments: [(Int64, [UInt8])] = []
        index.forEach(from: [], to: []) { ki in
            if let live = ki.live, live.lease != 0 { attachments.append((live.lease, ki.key)) }
            return true
        }
        for (id, key) in attachments { self.lessor.attach(id, key: key) }
        // A crash during the backend's pruning can leave versions a
        // compaction had dropped; drop them again.
        if compactRevision > 0 { index.compact(atRev: compactRevision) }
        sizeEstimate = approximateSize()
    }
}
