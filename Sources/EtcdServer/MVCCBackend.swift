import Logging
import MVCC
import Raft
import Storage

/// The member's MVCC state on disk (`<data-dir>/member/snap/db`), laid out
/// as etcd lays out its bolt database: the `key` bucket holds every
/// retained version under its revision (8-byte big-endian main, `_`, 8-byte
/// sub, and a trailing `t` for a tombstone), `lease` the leases, `members`
/// and `alarm` the replicated cluster state, and `meta` the applied Raft
/// index (etcd's consistent index) with the revision counters.
///
/// The store's key index stays in memory and is rebuilt from here on
/// start; values live here once committed, and the store reads them back
/// through this backend (`ValueSource`), as etcd's key index reads bolt.
/// Commits are batched by the caller (etcd commits every 100 ms): the WAL
/// stays the source of durability, and because the applied index is written
/// in the same transaction as the data, replaying the WAL after a restart
/// skips exactly what the backend already holds. Compacted revisions are
/// deleted a batch at a time (`pruneCompacted`), so a compaction never
/// stalls requests (etcd issue 19406); LMDB reuses freed pages, so the file
/// never needs a stop-the-world defragmentation (etcd issue 9222).
///
/// Owned by the server's actor; not used concurrently.
final class MVCCBackend: @unchecked Sendable {
    enum Buckets {
        static let key: Bucket = "key"
        static let meta: Bucket = "meta"
        static let lease: Bucket = "lease"
        static let members: Bucket = "members"
        static let alarm: Bucket = "alarm"
        static let all = [key, meta, lease, members, alarm] + auth
    }

    enum MetaKey {
        static let consistentIndex = Array("consistent_index".utf8)
        static let currentRevision = Array("current_revision".utf8)
        static let compactRevision = Array("scheduledCompactRev".utf8)
        static let finishedCompactRevision = Array("finishedCompactRev".utf8)
    }

    /// What the backend held at start.
    struct Loaded {
        var consistentIndex: UInt64
        var store: KVStore
        var members: [Member]
        var alarms: [AlarmMember]
        var auth: AuthStore
    }

    /// The LMDB file; replaced as a whole when a leader's image is installed.
    private var backend: Backend
    private let path: String
    /// The newest main revision written to disk.
    private(set) var committedRevision: Int64 = 0
    /// The applied index the last commit recorded.
    private(set) var consistentIndex: UInt64 = 0
    /// The compaction revision recorded on disk (-1: none).
    private var committedCompactRevision: Int64 = -1
    /// Key-bucket position from which pruning of compacted revisions goes
    /// on, and the compaction it works towards.
    private var pruneCursor: [UInt8] = []
    private var pruneTarget: Int64 = -1
    private var prunedThrough: Int64 = -1
    /// Lease grants (ttl) and revocations (nil) not yet committed.
    private var pendingLeases: [Int64: Int64?] = [:]
    /// Members or alarms changed since the last commit.
    private var clusterStateDirty = false
    /// Users, roles or the auth switch changed since the last commit.
    private var authDirty = false

    static func path(dataDir: String) -> String { StorageLayout.backendPath(in: dataDir) }

    init(path: String) throws {
        self.path = path
        backend = try Backend(path: path, buckets: Buckets.all)
    }

    // MARK: Images (snapshots sent to and received from other members)

    /// The LMDB file as it is now; `BackendImage.export` may read it on
    /// another thread while this member goes on committing.
    var storage: Backend { backend }

    /// Where a leader's image is written before it replaces the backend.
    var incomingPath: String { path + ".incoming" }

    /// Writes a leader's `image` into a new database at `incomingPath`,
    /// synced. Touches nothing of this backend's, so it may run on any
    /// thread; a damaged image is refused before anything is written.
    static func prepare(image: [UInt8], at incomingPath: String) throws {
        let contents = try BackendImage.decode(image)
        try BackendImage.write(contents, toNewDatabaseAt: incomingPath, buckets: Buckets.all)
    }

    /// Replaces the whole backend by the database `prepare` wrote: it is
    /// moved over this one, so a crash leaves either the old file or the
    /// complete new one. Returns the new state, as `load` does.
    func installPrepared(lessor: Lessor = Lessor()) throws -> Loaded {
        try backend.close()
        try BackendImage.moveIntoPlace(from: incomingPath, to: path)
        backend = try Backend(path: path, buckets: Buckets.all)
        pendingLeases.removeAll()
        clusterStateDirty = false
        authDirty = false
        pruneCursor = []
        guard let loaded = try load(lessor: lessor) else {
            throw BackendCorruption(what: "installed image (it has no consistent index)")
        }
        return loaded
    }

    // MARK: Loading

    /// Reads everything back but the values, which the store reads from
    /// here when needed; nil for a backend that never committed.
    func load(lessor: Lessor = Lessor()) throws -> Loaded? {
        try backend.read { tx -> Loaded? in
            guard let ci = try tx.get(MetaKey.consistentIndex, in: Buckets.meta).flatMap(Self.decodeUInt64) else {
                return nil
            }
            let current = try tx.get(MetaKey.currentRevision, in: Buckets.meta).flatMap(Self.decodeInt64) ?? 1
            let compact = try tx.get(MetaKey.compactRevision, in: Buckets.meta).flatMap(Self.decodeInt64) ?? -1
            var versions: [KVStore.StoredVersion] = []
            var failure: (any Error)?
            try tx.forEach(in: Buckets.key) { key, value in
                do {
                    versions.append(try Self.decodeVersion(key: Array(key), value: Array(value), readingValue: false))
                    return true
                } catch {
                    failure = error
                    return false
                }
            }
            if let failure { throw failure }
            var leases: [KVStore.StoredLease] = []
            for entry in try tx.entries(in: Buckets.lease) {
                guard let id = Self.decodeInt64(entry.key), let ttl = Self.decodeInt64(entry.value) else {
                    throw BackendCorruption(what: "lease record")
                }
                leases.append(KVStore.StoredLease(id: id, ttl: ttl))
            }
            var members: [Member] = []
            for entry in try tx.entries(in: Buckets.members) {
                var r = BinaryReader(entry.value)
                members.append(try Member(from: &r))
            }
            var alarms: [AlarmMember] = []
            for entry in try tx.entries(in: Buckets.alarm) {
                var r = BinaryReader(entry.value)
                let id = try r.readUInt64()
                guard let type = AlarmType(rawValue: Int(try r.readUInt64())) else {
                    throw BackendCorruption(what: "alarm record")
                }
                alarms.append(AlarmMember(memberID: id, alarm: type))
            }
            let auth = try Self.readAuth(tx)
            let store = try KVStore(
                restoring: versions, currentRevision: current, compactRevision: compact, leases: leases,
                lessor: lessor, valueSource: self)
            consistentIndex = ci
            committedRevision = current
            committedCompactRevision = compact
            // Versions a crash left behind mid-pruning go on the next passes.
            pruneTarget = compact
            prunedThrough = -1
            return Loaded(consistentIndex: ci, store: store, members: members, alarms: alarms, auth: auth)
        }
    }

    // MARK: Recording changes

    func leaseGranted(id: Int64, ttl: Int64) { pendingLeases[id] = .some(ttl) }
    func leaseRevoked(id: Int64) { pendingLeases[id] = .some(nil) }
    func clusterStateChanged() { clusterStateDirty = true }
    func authStateChanged() { authDirty = true }

    /// Whether a commit would write anything.
    func needsCommit(store: KVStore, appliedIndex: UInt64) -> Bool {
        appliedIndex > consistentIndex || store.currentRevision > committedRevision
            || store.compactedRevision > max(committedCompactRevision, 0) || !pendingLeases.isEmpty
            || clusterStateDirty || authDirty
    }

    /// Writes what changed since the last commit, with `appliedIndex`, in
    /// one transaction.
    func commit(
        store: KVStore, members: [Member], alarms: [AlarmMember], auth: AuthStore? = nil, appliedIndex: UInt64
    ) throws {
        let versions = store.versions(after: committedRevision)
        let leases = pendingLeases
        let writeClusterState = clusterStateDirty
        let writeAuth = authDirty ? auth : nil
        let compact = store.storedCompactRevision
        let start = ContinuousClock.now
        defer { ServerMetrics.shared.backendCommit.record(since: start) }
        try backend.write { tx in
            for version in versions {
                try tx.put(Self.revisionKey(version), Self.encodeValue(version), in: Buckets.key)
            }
            for (id, ttl) in leases {
                if let ttl {
                    try tx.put(Self.encode(id), Self.encode(ttl), in: Buckets.lease)
                } else {
                    _ = try tx.delete(Self.encode(id), in: Buckets.lease)
                }
            }
            if writeClusterState { try Self.writeClusterState(&tx, members: members, alarms: alarms) }
            if let writeAuth { try Self.writeAuth(&tx, writeAuth) }
            try tx.put(MetaKey.consistentIndex, Self.encode(appliedIndex), in: Buckets.meta)
            try tx.put(MetaKey.currentRevision, Self.encode(store.currentRevision), in: Buckets.meta)
            try tx.put(MetaKey.compactRevision, Self.encode(compact), in: Buckets.meta)
        }
        committedRevision = store.currentRevision
        consistentIndex = appliedIndex
        committedCompactRevision = compact
        if compact > pruneTarget { pruneTarget = compact }
        pendingLeases.removeAll(keepingCapacity: true)
        clusterStateDirty = false
        if writeAuth != nil { authDirty = false }
    }

    /// Replaces everything by `store`'s state (after installing a snapshot
    /// from the leader), durable on return.
    func replaceAll(
        store: KVStore, members: [Member], alarms: [AlarmMember], auth: AuthStore = AuthStore(), appliedIndex: UInt64
    ) throws {
        let versions = store.allVersions()
        let leases = store.leases()
        let compact = store.storedCompactRevision
        try backend.write { tx in
            for bucket in Buckets.all { _ = try tx.deleteRange(in: bucket, from: [], to: nil) }
            for version in versions {
                try tx.put(Self.revisionKey(version), Self.encodeValue(version), in: Buckets.key)
            }
            for lease in leases { try tx.put(Self.encode(lease.id), Self.encode(lease.ttl), in: Buckets.lease) }
            try Self.writeClusterState(&tx, members: members, alarms: alarms)
            try Self.writeAuth(&tx, auth)
            try tx.put(MetaKey.consistentIndex, Self.encode(appliedIndex), in: Buckets.meta)
            try tx.put(MetaKey.currentRevision, Self.encode(store.currentRevision), in: Buckets.meta)
            try tx.put(MetaKey.compactRevision, Self.encode(compact), in: Buckets.meta)
        }
        try backend.sync()
        committedRevision = store.currentRevision
        consistentIndex = appliedIndex
        committedCompactRevision = compact
        pruneTarget = compact
        prunedThrough = compact
        pruneCursor = []
        pendingLeases.removeAll()
        clusterStateDirty = false
        authDirty = false
    }

    /// Deletes up to `limit` stored versions the store no longer retains
    /// after its compaction. Returns true while there is more to do.
    @discardableResult
    func pruneCompacted(store: KVStore, limit: Int = 1000) throws -> Bool {
        guard pruneTarget > prunedThrough else { return false }
        let end = Self.revisionKey(main: pruneTarget + 1, sub: 0)
        let cursor = pruneCursor
        let (doomed, next, done): ([[UInt8]], [UInt8], Bool) = try backend.read { tx in
            var doomed: [[UInt8]] = []
            var scanned = 0
            var next = cursor
            var reachedEnd = true
            try tx.forEach(in: Buckets.key, from: cursor, to: end) { key, value in
                let k = Array(key)
                if scanned >= limit {
                    next = k
                    reachedEnd = false
                    return false
                }
                scanned += 1
                if let version = try? Self.decodeVersion(key: k, value: Array(value)),
                    !store.retains(key: version.key, revision: version.revision)
                {
                    doomed.append(k)
                }
                return true
            }
            return (doomed, next, reachedEnd)
        }
        if !doomed.isEmpty {
            try backend.write { tx in
                for key in doomed { _ = try tx.delete(key, in: Buckets.key) }
            }
        }
        if done {
            prunedThrough = pruneTarget
            let finished = prunedThrough
            try backend.write { tx in
                try tx.put(MetaKey.finishedCompactRevision, Self.encode(finished), in: Buckets.meta)
            }
            // Keep the cursor: every key before it is at or below a
            // compaction and kept, so the next compaction starts there.
            pruneCursor = end
            return false
        }
        pruneCursor = next
        return true
    }

    /// Forces everything committed to disk (before WAL segments go).
    func sync() throws { try backend.sync() }

    /// The file size (etcd's dbSize) and the pages in use.
    var sizeInBytes: Int64 { Int64((try? backend.sizeInBytes) ?? 0) }
    var sizeInUse: Int64 { Int64((try? backend.sizeInUse) ?? 0) }

    func close() { try? backend.close() }

    // MARK: Encoding

    static func writeClusterState(_ tx: inout WriteTransaction, members: [Member], alarms: [AlarmMember]) throws {
        _ = try tx.deleteRange(in: Buckets.members, from: [], to: nil)
        for member in members {
            var w = BinaryWriter()
            member.encode(to: &w)
            try tx.put(encode(member.id), w.bytes, in: Buckets.members)
        }
        _ = try tx.deleteRange(in: Buckets.alarm, from: [], to: nil)
        for (i, alarm) in alarms.enumerated() {
            var w = BinaryWriter()
            w.write(alarm.memberID)
            w.write(UInt64(alarm.alarm.rawValue))
            try tx.put(encode(UInt64(i)), w.bytes, in: Buckets.alarm)
        }
    }

    static func revisionKey(main: Int64, sub: Int64) -> [UInt8] {
        var key = encode(main)
        key.append(UInt8(ascii: "_"))
        key.append(contentsOf: encode(sub))
        return key
    }

    static func revisionKey(_ version: KVStore.StoredVersion) -> [UInt8] {
        var key = revisionKey(main: version.revision.main, sub: version.revision.sub)
        if version.isTombstone { key.append(UInt8(ascii: "t")) }
        return key
    }

    static func encodeValue(_ version: KVStore.StoredVersion) -> [UInt8] {
        var w = BinaryWriter()
        w.write(version.key)
        w.writeSigned(version.createRevision)
        w.writeSigned(version.version)
        w.writeSigned(version.lease)
        w.write(version.value ?? [])  // never nil: commits write values still in memory
        return w.bytes
    }

    /// A key-bucket record; with `readingValue` false the value is left
    /// out (only its size is read).
    static func decodeVersion(key: [UInt8], value: [UInt8], readingValue: Bool = true) throws -> KVStore.StoredVersion {
        guard key.count == 17 || key.count == 18, let main = decodeInt64(Array(key[0..<8])),
            let sub = decodeInt64(Array(key[9..<17]))
        else { throw BackendCorruption(what: "revision key") }
        var r = BinaryReader(value)
        let userKey = try r.readBytes()
        let createRevision = try r.readSigned()
        let version = try r.readSigned()
        let lease = try r.readSigned()
        let revision = Revision(main: main, sub: sub)
        guard readingValue else {
            return KVStore.StoredVersion(
                key: userKey, revision: revision, createRevision: createRevision, version: version, lease: lease,
                value: nil, valueSize: try r.readCount())
        }
        return KVStore.StoredVersion(
            key: userKey, revision: revision, createRevision: createRevision, version: version, lease: lease,
            value: try r.readBytes())
    }

    /// Just the value of a key-bucket record.
    static func decodeValue(_ record: [UInt8]) throws -> [UInt8] {
        var r = BinaryReader(record)
        _ = try r.readBytes()
        for _ in 0..<3 { _ = try r.readSigned() }
        return try r.readBytes()
    }

    static func encode(_ value: Int64) -> [UInt8] { encode(UInt64(bitPattern: value)) }

    static func encode(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func decodeUInt64(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func decodeInt64(_ bytes: [UInt8]) -> Int64? {
        decodeUInt64(bytes).map { Int64(bitPattern: $0) }
    }
}

extension MVCCBackend: ValueSource {
    /// The values the store released from memory, read in one transaction.
    func values(at revisions: [Revision]) -> [[UInt8]] {
        do {
            return try backend.read { tx in
                try revisions.map { revision in
                    let key = Self.revisionKey(main: revision.main, sub: revision.sub)
                    return try tx.withValue(key, in: Buckets.key) { record in
                        guard let record else {
                            throw BackendCorruption(what: "key record (revision \(revision.main)/\(revision.sub) is missing)")
                        }
                        return try Self.decodeValue(Array(record))
                    }
                }
            }
        } catch {
            // The key index says the version exists, so the file is damaged;
            // reads go on with empty values and the operator is told how to
            // recover (etcd would panic here).
            Self.logger.error(
                "cannot read values from the backend", metadata: ["path": "\(backend.path)", "error": "\(error)"])
            return revisions.map { _ in [] }
        }
    }

    private static let logger = Logger(label: "swift-etcd.backend")
}

extension KVStore {
    /// Makes `backend` this store's persistence: values it committed are
    /// read back from it, and the journal keeps what it has yet to commit.
    mutating func persist(in backend: MVCCBackend) {
        valueSource = backend
        // Until the backend says what it holds of this store, the journal
        // keeps everything for it.
        if persistedThrough == nil { persistedThrough = 0 }
    }
}

/// A backend record that cannot be read: the data directory is damaged.
struct BackendCorruption: Error, CustomStringConvertible {
    var what: String
    var description: String {
        "the MVCC backend holds an unreadable \(what); restore the member from a snapshot or remove it from the cluster and re-add it"
    }
}
