/// The revisioned key-value store (etcd's `mvcc` store), held in memory.
///
/// Every change is kept as a new version under a new revision until it is
/// compacted away, so reads can travel back in time (`RangeRequest.revision`)
/// and watchers can replay history (`events(in:from:to:)`). Each write
/// request that changes anything advances `currentRevision` by exactly one;
/// the changes inside it are ordered by sub-revision.
///
/// A value type: the server keeps one inside an actor and mutates it in
/// place. Copying it is cheap until one copy is written to; avoid holding
/// copies across writes, which would then duplicate the touched storage.
///
/// The store owns the `Lessor`, because leases and keys change together: a
/// put attaches its key to a lease (and must fail for an unknown lease), a
/// delete detaches it, and revoking a lease deletes its keys in one revision.
///
/// Operations are spread over extensions: reads in `KVStore+Range.swift`,
/// put and delete in `KVStore+Write.swift`, transactions in
/// `KVStore+Txn.swift`, lease operations in `KVStore+Lease.swift`, replay
/// and compaction here.
public struct KVStore: EventHistory, Sendable {
    /// Every key the store has history for, in key order.
    var index = TreeIndex()
    /// Which key changed at each retained revision, for replay.
    var log = RevisionLog()

    /// The newest revision; 1 in an empty store, as etcd reports it.
    public internal(set) var currentRevision: Int64 = 1

    /// Where the compaction under way continues (nil: none under way).
    var compactionCursor: [UInt8]?

    /// etcd's `compactMainRev`: -1 until the first compaction, so that
    /// compacting at 0 on a fresh store succeeds as it does in etcd.
    var compactMainRevision: Int64 = -1

    /// The revision of the latest compaction (0 if never). Reads at exactly
    /// this revision still work; reads below it fail with `.compacted`.
    public var compactedRevision: Int64 { max(compactMainRevision, 0) }

    /// Where values released from memory are read back (nil: every value
    /// stays in memory). See `ValueSource`.
    public var valueSource: (any ValueSource)?

    /// The newest main revision the owner's backend holds (see
    /// `markPersisted`); nil when nothing persists this store. While it is
    /// set, the journal keeps the records of revisions the backend does not
    /// hold yet even when a compaction passes them, because the backend's
    /// next commit finds what to write through them.
    public var persistedThrough: Int64?

    /// The leases; read it directly, change it through the store's lease
    /// operations (`grantLease`, `revokeLease`, `renewLease`, ...).
    public internal(set) var lessor: Lessor

    /// An empty store with a default lessor on the real monotonic clock.
    public init() {
        self.lessor = Lessor()
    }

    /// An empty store whose leases are kept by `lessor`.
    public init(lessor: Lessor) {
        self.lessor = lessor
    }

    /// Roughly how many bytes the retained history occupies, kept up to
    /// date by every write and compaction so that the quota check and the
    /// status API need not walk the store (see `approximateSize()`).
    public internal(set) var sizeEstimate: Int64 = 0

    /// The estimate's charge for one stored version.
    static func versionCost(key: Int, value: Int) -> Int64 {
        Int64(key + value + MemoryLayout<KeyIndex.Entry>.stride + 24)
    }

    /// Number of keys that currently exist (not deleted).
    public var keyCount: Int { index.liveCount }

    /// Roughly how many bytes the retained history occupies (keys, values
    /// and per-version bookkeeping), for the status API's database size.
    /// Walks every version: O(history), meant for occasional status calls.
    public func approximateSize() -> Int64 {
        var bytes: Int64 = 0
        index.forEach(from: [], to: []) { ki in
            for entry in ki.entries { bytes += Self.versionCost(key: ki.key.count, value: entry.valueSize) }
            return true
        }
        return bytes
    }

    /// Whether a put may attach lease `id`.
    func leaseExists(_ id: Int64) -> Bool {
        lessor.lookup(id) != nil
    }

    // MARK: Compaction

    /// Discards history before `revision` (etcd's `Compact`).
    ///
    /// For each key the newest version at or below `revision` survives unless
    /// it is a deletion, so a read at `revision` still answers exactly as
    /// before, while any read below it fails with `.compacted`.
    public mutating func compact(_ revision: Int64) throws(MVCCError) {
        try beginCompaction(revision)
        var slices = 0
        while continueCompaction(maxKeys: .max) && slices < 1_000_000 { slices += 1 }
    }

    /// Compacts at `revision` logically at once (reads below it fail from
    /// now on, history replay starts there) and leaves dropping the old
    /// versions to `continueCompaction`, a slice at a time, so that a large
    /// store never stalls requests while it compacts (etcd issue 19406).
    /// Nothing a client can observe depends on how far the slices got.
    public mutating func beginCompaction(_ revision: Int64) throws(MVCCError) {
        if revision <= compactMainRevision { throw .compacted }
        if revision > currentRevision { throw .futureRevision }
        compactMainRevision = revision
        // Keep the compacted revision's own records: etcd still serves a
        // watch that starts exactly there. Keep those the backend does not
        // hold yet too: it finds what to commit through them.
        log.removeThrough(main: min(revision - 1, persistedThrough ?? .max))
        // A compaction still under way is subsumed: this one covers it.
        compactionCursor = []
    }

    /// Drops the history of about `maxKeys` keys for the compaction under
    /// way; returns whether more remains.
    @discardableResult
    public mutating func continueCompaction(maxKeys: Int = 10_000) -> Bool {
        guard let cursor = compactionCursor else { return false }
        let (dropped, next) = index.compactSlice(
            atRev: compactMainRevision, from: cursor, maxKeys: maxKeys,
            cost: { ki in ki.entries.reduce(0) { $0 + KVStore.versionCost(key: ki.key.count, value: $1.valueSize) } })
        sizeEstimate -= dropped
        compactionCursor = next
        return next != nil
    }

    /// Whether old versions are still being dropped after a compaction.
    public var isCompacting: Bool { compactionCursor != nil }

    // MARK: History replay

    /// Every change to keys in `range` with `from <= revision <= to`, oldest
    /// first, each with the key's version just before its revision as
    /// `prevKv` (what etcd's watchers deliver). `to` beyond the current
    /// revision is clamped.
    public func events(in range: KeyRange, from: Int64, to: Int64) throws(MVCCError) -> [Event] {
        // Revision 0 never holds a change, so on a never-compacted store a
        // start at or below 0 has lost nothing.
        if from < compactedRevision && compactMainRevision > 0 { throw .compacted }
        let upper = min(to, currentRevision)
        guard from <= upper else { return [] }
        var found: [(kind: Event.Kind, kv: Int, prev: Int?)] = []
        var kvs = KeyValueCollector()
        let records = log.records
        var i = log.firstIndex(atOrAfter: from)
        while i < records.count {
            let record = records[i]
            i += 1
            if record.revision.main > upper { break }
            guard range.contains(record.key), let ki = index[record.key], let entry = ki.entry(at: record.revision)
            else { continue }
            var prev: Int?
            if let before = ki.get(atRev: record.revision.main - 1) {
                prev = kvs.count
                kvs.append(ki, before)
            }
            found.append((entry.isTombstone ? .delete : .put, kvs.count, prev))
            kvs.append(ki, entry.isTombstone ? Self.tombstoneEntry(entry) : entry)
        }
        let resolved = kvs.finish(from: valueSource)
        return found.map { Event(kind: $0.kind, kv: resolved[$0.kv], prevKv: $0.prev.map { resolved[$0] }) }
    }

    /// How a deletion reads in an event: the key with `modRevision` set to
    /// the deleting revision and everything else zero (as etcd).
    static func tombstoneEntry(_ entry: KeyIndex.Entry) -> KeyIndex.Entry {
        KeyIndex.Entry(revision: entry.revision, createRevision: 0, version: 0, value: [], lease: 0)
    }
}
