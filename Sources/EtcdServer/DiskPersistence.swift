import Raft
import Storage

/// Raft state made durable in the member's write-ahead log
/// (`<data-dir>/member/wal`): each entry is one record at its index, each
/// hard state one state record, and `save(sync: true)` is one fsync for the
/// whole Ready batch (group commit).
///
/// Owned by the server's actor, which calls it from one task at a time.
final class DiskPersistence: RaftPersistence, @unchecked Sendable {
    /// Record types in our WAL.
    enum RecordType {
        static let entry: UInt8 = 1
        static let hardState: UInt8 = 2
    }

    /// Who the data directory belongs to, written once as the WAL's metadata.
    struct Identity: Sendable, Hashable {
        var memberID: UInt64
        var clusterID: UInt64

        var encoded: [UInt8] {
            var w = BinaryWriter()
            w.write(memberID)
            w.write(clusterID)
            return w.bytes
        }

        init(memberID: UInt64, clusterID: UInt64) {
            self.memberID = memberID
            self.clusterID = clusterID
        }

        init(decoding bytes: [UInt8]) throws(BinaryDecodingError) {
            var r = BinaryReader(bytes)
            memberID = try r.readUInt64()
            clusterID = try r.readUInt64()
        }
    }

    /// What a data directory held when the member started.
    struct Recovered {
        var persistence: DiskPersistence
        var storage: MemoryStorage
        var identity: Identity
        /// The newest snapshot the WAL agrees with (nil if none was taken):
        /// the state machine starts from it, the log continues after it.
        var snapshot: Snapshot?
        /// False when the directory was new and has just been bootstrapped.
        var restarted: Bool
    }

    private let wal: WriteAheadLog
    private let snapshots: SnapshotStore

    private init(wal: WriteAheadLog, snapshots: SnapshotStore) {
        self.wal = wal
        self.snapshots = snapshots
    }

    /// Whether `dataDir` already holds a member's WAL.
    static func exists(dataDir: String) -> Bool {
        WriteAheadLog.exists(directory: walDirectory(dataDir: dataDir), fileSystem: POSIXFileSystem())
    }

    static func walDirectory(dataDir: String) -> String { dataDir + "/" + StorageLayout.walDirectory }
    static func snapDirectory(dataDir: String) -> String { dataDir + "/" + StorageLayout.snapDirectory }

    /// Opens the member's WAL, or creates it with the bootstrap log of a new
    /// cluster of `voters`. On restart the identity comes from the WAL, not
    /// from the flags (as etcd ignores `--initial-*` once it has data), and
    /// the log is read from the newest snapshot that has a marker in it.
    static func open(dataDir: String, newIdentity: Identity, voters: [NodeID]) throws -> Recovered {
        let fs = POSIXFileSystem()
        let dir = walDirectory(dataDir: dataDir)
        let snapshots = SnapshotStore(directory: snapDirectory(dataDir: dataDir), fileSystem: fs)
        if WriteAheadLog.exists(directory: dir, fileSystem: fs) {
            // etcd's rule: load the newest snapshot file the WAL has a
            // marker for; a file without one was orphaned by a crash.
            let markers = Set(try WriteAheadLog.snapshotMarkers(directory: dir, fileSystem: fs))
            let loaded = try snapshots.loadNewest(where: { markers.contains($0) })
            var snapshot: Snapshot?
            if let stored = loaded.snapshot {
                snapshot = try Snapshot(decoding: stored.payload)
            }
            let (wal, contents) = try WriteAheadLog.open(
                directory: dir, fileSystem: fs, from: loaded.snapshot?.marker)
            let identity = try Identity(decoding: contents.metadata)
            let storage = MemoryStorage()
            if let snapshot { storage.applySnapshot(snapshot) }
            let snapshotIndex = snapshot?.metadata.index ?? 0
            var entries: [Entry] = []
            var hardState: HardState?
            for record in contents.records {
                switch record.type {
                case RecordType.entry:
                    let entry = try Entry(decoding: record.payload)
                    guard entry.index > snapshotIndex else { continue }
                    // A later entry at an index replaces that suffix (a new
                    // leader overwrote uncommitted entries).
                    while let last = entries.last, last.index >= entry.index { entries.removeLast() }
                    entries.append(entry)
                case RecordType.hardState:
                    hardState = try HardState(decoding: record.payload)
                default:
                    continue
                }
            }
            // Entries must continue the snapshot without a gap; anything
            // else means the log and snapshot disagree.
            if let first = entries.first, first.index != snapshotIndex + 1 {
                throw Storage.StorageError.corruptWAL(
                    file: dir, offset: 0,
                    reason: "log resumes at index \(first.index) but the snapshot ends at \(snapshotIndex)")
            }
            if !entries.isEmpty { storage.append(entries) }
            if var hardState {
                // A snapshot installed from the leader may be ahead of the
                // last hard state written before it.
                hardState.commit = max(hardState.commit, snapshotIndex)
                storage.setHardState(hardState)
            }
            if let stored = loaded.snapshot { _ = try? snapshots.prune(current: stored.marker) }
            return Recovered(
                persistence: DiskPersistence(wal: wal, snapshots: snapshots), storage: storage,
                identity: identity, snapshot: snapshot, restarted: true)
        }
        let wal = try WriteAheadLog.create(directory: dir, metadata: newIdentity.encoded, fileSystem: fs)
        let persistence = DiskPersistence(wal: wal, snapshots: snapshots)
        let entries = Bootstrap.entries(voters: voters)
        let hardState = Bootstrap.hardState(voters: voters)
        try persistence.save(hardState: hardState, entries: entries, sync: true)
        let storage = MemoryStorage()
        storage.append(entries)
        storage.setHardState(hardState)
        return Recovered(
            persistence: persistence, storage: storage, identity: newIdentity, snapshot: nil, restarted: false)
    }

    func save(hardState: HardState?, entries: [Entry], sync: Bool) throws {
        var records = entries.map { WALRecord(type: RecordType.entry, index: $0.index, payload: $0.encoded()) }
        if let hardState, !hardState.isEmpty {
            records.append(WALRecord(type: RecordType.hardState, index: 0, payload: hardState.encoded()))
        }
        if !records.isEmpty { try wal.append(records) }
        if sync {
            let start = ContinuousClock.now
            try wal.sync()
            ServerMetrics.shared.walFsync.record(since: start)
        }
    }

    /// etcd's order: the snapshot file is durable first, then its marker
    /// in the WAL (so a restart can use it), then old snapshot files and
    /// the WAL segments it covers go.
    func saveSnapshot(_ snapshot: Snapshot) throws {
        let index = snapshot.metadata.index, term = snapshot.metadata.term
        try snapshots.save(index: index, term: term, payload: snapshot.encoded())
        let marker = WALSnapshot(index: index, term: term)
        try wal.appendSnapshotMarker(marker)
        try wal.sync()
        try snapshots.prune(current: marker)
        _ = try wal.releaseSegments(coveredBy: index)
    }
}
