/// A snapshot read back from disk.
public struct StoredSnapshot: Sendable, Hashable {
    public var index: UInt64
    public var term: UInt64
    /// The caller's bytes (the server stores Raft snapshot metadata and the
    /// state machine image, encoded by its own codec).
    public var payload: [UInt8]
    /// File name inside the snapshot directory.
    public var file: String

    /// The WAL marker naming this snapshot.
    public var marker: WALSnapshot { WALSnapshot(index: index, term: term) }
}

/// What `loadNewest` found.
public struct SnapshotLoadResult: Sendable, Hashable {
    /// The newest valid, acceptable snapshot, or nil if there is none.
    public var snapshot: StoredSnapshot?
    /// Files that failed verification and were renamed to `<name>.broken`
    /// (kept for an operator to inspect, as etcd does).
    public var broken: [BrokenSnapshot]
}

/// A snapshot file set aside as corrupt.
public struct BrokenSnapshot: Sendable, Hashable {
    /// The original file name (now `<file>.broken`).
    public var file: String
    public var reason: String
}

/// Snapshot files in `<data-dir>/member/snap/`, named `%016x-%016x.snap`
/// (term-index, as etcd). File format (little-endian):
///
///     offset size field
///          0    8 magic "SWSNAP\0\u{1}"
///          8    8 term
///         16    8 index
///         24    8 payload length n
///         32    n payload
///       32+n    4 CRC32C of bytes 0..<32+n
///
/// Writes go to `<name>.tmp`, are synced, renamed into place, and the
/// directory is synced, so a crash leaves either the complete new file or
/// no file by that name; older snapshots are untouched until the new one is
/// durable. Not `Sendable` (it holds the file system); one owner.
public struct SnapshotStore {
    public let directory: String
    /// How many snapshot files `prune` keeps: the current one and the
    /// newest older ones (etcd's --max-snapshots, default 5).
    public let retain: Int
    private let fileSystem: any FileSystem

    static let magic: [UInt8] = Array("SWSNAP".utf8) + [0, 1]
    static let headerSize = 32

    public init(directory: String, fileSystem: any FileSystem, retain: Int = 5) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.retain = max(1, retain)
    }

    /// Durably writes a snapshot. Returns the file name. When this returns
    /// the snapshot survives any crash; if it throws, older snapshots are
    /// intact. It does not prune: until the WAL holds this snapshot's
    /// marker, the previous snapshot is the one a restart will load.
    @discardableResult
    public func save(index: UInt64, term: UInt64, payload: [UInt8]) throws(StorageError) -> String {
        // Every save re-syncs the ancestors: cheap next to a snapshot, and a
        // crash right after an earlier mkdir may have left them unsynced.
        try fileSystem.createDirectory(directory)
        for ancestor in Path.ancestors(of: directory) { try fileSystem.syncDirectory(ancestor) }
        let name = SnapshotStore.fileName(index: index, term: term)
        let finalPath = Path.join(directory, name)
        let temporaryPath = finalPath + ".tmp"
        let file = try fileSystem.open(temporaryPath, mode: .truncate)
        try file.write(SnapshotStore.encode(index: index, term: term, payload: payload), at: 0)
        try file.sync()
        file.close()
        try fileSystem.rename(temporaryPath, to: finalPath)
        try fileSystem.syncDirectory(directory)
        return name
    }

    /// Removes snapshot files no longer needed once `current`'s marker is
    /// durable in the WAL (the caller appended and synced it): keeps
    /// `current` and the `retain - 1` newest older files, and removes newer
    /// files, which are orphans of a crash between `save` and the marker
    /// (no restart will load them). Oldest first, then one directory sync.
    /// Returns the removed names. Call it after saving (and marking) a
    /// snapshot, and after startup with the snapshot that was loaded.
    /// Assumes snapshots only move forward (as Raft's do): a file newer than
    /// `current` is taken for an orphan.
    @discardableResult
    public func prune(current: WALSnapshot) throws(StorageError) -> [String] {
        guard fileSystem.exists(directory) else { return [] }
        let files = SnapshotStore.snapshotFiles(try fileSystem.listDirectory(directory))
        let currentName = SnapshotStore.fileName(index: current.index, term: current.term)
        let older = files.filter { ($0.marker.index, $0.marker.term) < (current.index, current.term) }
        let newer = files.filter { ($0.marker.index, $0.marker.term) > (current.index, current.term) }
        let keptOlder = files.contains { $0.name == currentName } ? retain - 1 : retain
        let doomed = older.dropFirst(max(0, keptOlder)).reversed().map(\.name) + newer.map(\.name)
        guard !doomed.isEmpty else { return [] }
        for name in doomed { try fileSystem.remove(Path.join(directory, name)) }
        try fileSystem.syncDirectory(directory)
        return doomed
    }

    /// The newest snapshot that verifies and that `accept` agrees to (etcd
    /// passes "has a marker in the WAL"). Corrupt files are renamed
    /// `.broken` and skipped; leftover `.tmp` files are removed.
    public func loadNewest(where accept: (WALSnapshot) -> Bool = { _ in true }) throws(StorageError) -> SnapshotLoadResult {
        var result = SnapshotLoadResult(snapshot: nil, broken: [])
        guard fileSystem.exists(directory) else { return result }
        let names = try fileSystem.listDirectory(directory)
        let leftovers = names.filter { $0.hasSuffix(".snap.tmp") }
        for leftover in leftovers { try fileSystem.remove(Path.join(directory, leftover)) }
        var renamed = !leftovers.isEmpty
        for (name, marker) in SnapshotStore.snapshotFiles(names) where accept(marker) {
            let path = Path.join(directory, name)
            let file = try fileSystem.open(path, mode: .readOnly)
            let bytes = try file.readAll()
            file.close()
            switch SnapshotStore.decode(bytes, expected: marker) {
            case let .success(payload):
                if renamed { try fileSystem.syncDirectory(directory) }
                result.snapshot = StoredSnapshot(index: marker.index, term: marker.term, payload: payload, file: name)
                return result
            case let .failure(failure):
                try fileSystem.rename(path, to: path + ".broken")
                result.broken.append(BrokenSnapshot(file: name, reason: failure.reason))
                renamed = true
            }
        }
        if renamed { try fileSystem.syncDirectory(directory) }
        return result
    }

    /// Snapshot file names present, newest first.
    public func list() throws(StorageError) -> [String] {
        guard fileSystem.exists(directory) else { return [] }
        return SnapshotStore.snapshotFiles(try fileSystem.listDirectory(directory)).map(\.name)
    }

    // MARK: Internals

    static func fileName(index: UInt64, term: UInt64) -> String {
        "\(Hex.pad16(term))-\(Hex.pad16(index)).snap"
    }

    /// Valid snapshot names with their positions, newest (highest index,
    /// then term) first.
    static func snapshotFiles(_ names: [String]) -> [(name: String, marker: WALSnapshot)] {
        let parsed = names.compactMap { name -> (name: String, marker: WALSnapshot)? in
            guard name.count == 16 + 1 + 16 + 5, name.hasSuffix(".snap") else { return nil }
            let parts = name.dropLast(5).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let term = Hex.parse16(parts[0]), let index = Hex.parse16(parts[1]) else {
                return nil
            }
            return (name, WALSnapshot(index: index, term: term))
        }
        return parsed.sorted { ($0.marker.index, $0.marker.term) > ($1.marker.index, $1.marker.term) }
    }

    static func encode(index: UInt64, term: UInt64, payload: [UInt8]) -> [UInt8] {
        var bytes = magic
        bytes.reserveCapacity(headerSize + payload.count + 4)
        LittleEndian.append(term, to: &bytes)
        LittleEndian.append(index, to: &bytes)
        LittleEndian.append(UInt64(payload.count), to: &bytes)
        bytes += payload
        LittleEndian.append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    struct DecodeFailure: Error { var reason: String }

    static func decode(_ bytes: [UInt8], expected: WALSnapshot) -> Result<[UInt8], DecodeFailure> {
        guard bytes.count >= headerSize + 4, Array(bytes[0..<8]) == magic else {
            return .failure(DecodeFailure(reason: "bad magic or truncated header"))
        }
        guard let term = LittleEndian.readUInt64(bytes, at: 8), let index = LittleEndian.readUInt64(bytes, at: 16),
            let length = LittleEndian.readUInt64(bytes, at: 24), length == UInt64(bytes.count - headerSize - 4)
        else {
            return .failure(DecodeFailure(reason: "length does not match file size"))
        }
        guard term == expected.term, index == expected.index else {
            return .failure(DecodeFailure(reason: "term/index do not match the file name"))
        }
        let crcOffset = bytes.count - 4
        guard LittleEndian.readUInt32(bytes, at: crcOffset) == CRC32C.update(0, bytes, range: 0..<crcOffset) else {
            return .failure(DecodeFailure(reason: "checksum mismatch"))
        }
        return .success(Array(bytes[headerSize..<crcOffset]))
    }
}
