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
        /// False when the directory was new and has just been bootstrapped.
        var restarted: Bool
    }

    private let wal: WriteAheadLog

    private init(wal: WriteAheadLog) {
        self.wal = wal
    }

    static func walDirectory(dataDir: String) -> String { dataDir + "/" + StorageLayout.walDirectory }

    /// Opens the member's WAL, or creates it with the bootstrap log of a new
    /// cluster of `voters`. On restart the identity comes from the WAL, not
    /// from the flags (as etcd ignores `--initial-*` once it has data).
    static func open(dataDir: String, newIdentity: Identity, voters: [NodeID]) throws -> Recovered {
        let fs = POSIXFileSystem()
        let dir = walDirectory(dataDir: dataDir)
        if WriteAheadLog.exists(directory: dir, fileSystem: fs) {
            let (wal, contents) = try WriteAheadLog.open(directory: dir, fileSystem: fs)
            let identity = try Identity(decoding: contents.metadata)
            let storage = MemoryStorage()
            var entries: [Entry] = []
            var hardState: HardState?
            for record in contents.records {
                switch record.type {
                case RecordType.entry:
                    let entry = try Entry(decoding: record.payload)
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
            if !entries.isEmpty { storage.append(entries) }
            if let hardState { storage.setHardState(hardState) }
            return Recovered(
                persistence: DiskPersistence(wal: wal), storage: storage, identity: identity, restarted: true)
        }
        let wal = try WriteAheadLog.create(directory: dir, metadata: newIdentity.encoded, fileSystem: fs)
        let persistence = DiskPersistence(wal: wal)
        let entries = Bootstrap.entries(voters: voters)
        let hardState = Bootstrap.hardState(voters: voters)
        try persistence.save(hardState: hardState, entries: entries, sync: true)
        let storage = MemoryStorage()
        storage.append(entries)
        storage.setHardState(hardState)
        return Recovered(persistence: persistence, storage: storage, identity: newIdentity, restarted: false)
    }

    func save(hardState: HardState?, entries: [Entry], sync: Bool) throws {
        var records = entries.map { WALRecord(type: RecordType.entry, index: $0.index, payload: $0.encoded()) }
        if let hardState, !hardState.isEmpty {
            records.append(WALRecord(type: RecordType.hardState, index: 0, payload: hardState.encoded()))
        }
        if !records.isEmpty { try wal.append(records) }
        if sync { try wal.sync() }
    }

    func saveSnapshot(_ snapshot: Snapshot) throws {
        // Installing snapshots from a leader arrives with the multi-member
        // cluster; a lone member never receives one.
        throw Storage.StorageError.io(operation: "save snapshot", path: wal.directory, errno: 95)
    }
}
