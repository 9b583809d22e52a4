/// The write-ahead log of one member: an append-only sequence of records
/// in segment files `<data-dir>/member/wal/%016x-%016x.wal`
/// (sequence-firstIndex, as etcd names them). Format: `WALFrame`.
///
/// Usage, as a Raft node does it each Ready cycle:
///
///     try wal.append(hardStateAndEntries)  // any number of calls
///     try wal.sync()                       // one fsync for the batch
///     // only now acknowledge / send votes and append responses
///
/// A record is *acknowledged* when a `sync()` that started after its
/// `append` returns; a crash at any instant never loses an acknowledged
/// record, and reopening never shows a record that was not appended, nor a
/// later record without every earlier one.
///
/// Ownership: a `WriteAheadLog` is a final class owned by exactly one task
/// (the node's storage loop); it is deliberately not `Sendable`. After any
/// write or sync error it is *failed*: the on-disk state is unknown (a
/// failed fsync may have dropped dirty pages), so every later call throws
/// `.walFailed` and the member must restart and reopen.
public final class WriteAheadLog {
    public let directory: String
    public let options: WALOptions
    /// The bytes given to `create`, repeated in every segment header.
    public let metadata: [UInt8]

    private let fileSystem: any FileSystem
    private var segments: [SegmentName]
    private var active: any DurableFile
    /// Where the next record goes in the active segment.
    private var offset: Int
    /// Running chained CRC after the last record written.
    private var crc: UInt32
    /// Index of the last indexed record written (or a later snapshot
    /// marker); the next segment is named after `lastIndex + 1`.
    private var lastIndex: UInt64
    private var latestState: [UInt8: WALRecord]
    /// Stamped on every record: completed data syncs so far (continuing
    /// past the highest epoch read on open). Lets recovery tell unsynced
    /// records, which a crash may persist out of order, from synced ones.
    private var epoch: UInt64
    private var hasUnsyncedWrites = false
    private var failure: StorageError?

    private init(
        fileSystem: any FileSystem, directory: String, options: WALOptions, metadata: [UInt8],
        segments: [SegmentName], active: any DurableFile, offset: Int, crc: UInt32,
        lastIndex: UInt64, latestState: [UInt8: WALRecord], epoch: UInt64
    ) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.options = options
        self.metadata = metadata
        self.segments = segments
        self.active = active
        self.offset = offset
        self.crc = crc
        self.lastIndex = lastIndex
        self.latestState = latestState
        self.epoch = epoch
    }

    deinit { active.close() }

    // MARK: Creating and opening

    /// Whether `directory` holds any segment file.
    public static func exists(directory: String, fileSystem: any FileSystem) -> Bool {
        guard fileSystem.exists(directory), let names = try? fileSystem.listDirectory(directory) else { return false }
        return names.contains { SegmentName(parsing: $0) != nil }
    }

    /// Creates a new, empty log whose first segment is durable (file, name
    /// and every ancestor directory entry) when this returns. A crash before
    /// that leaves either no segment or a complete one, never a half-made
    /// segment, so the caller may simply create again if `exists` is false.
    public static func create(
        directory: String, metadata: [UInt8], fileSystem: any FileSystem, options: WALOptions = WALOptions()
    ) throws(StorageError) -> WriteAheadLog {
        try validate(options, metadata: metadata)
        if exists(directory: directory, fileSystem: fileSystem) { throw .walAlreadyExists(directory: directory) }
        try fileSystem.createDirectory(directory)
        try removeTemporaryFiles(in: directory, fileSystem: fileSystem)
        // Make the directory itself durable: sync every ancestor, since we
        // do not know which of them mkdir -p just created.
        for ancestor in Path.ancestors(of: directory) { try fileSystem.syncDirectory(ancestor) }
        let name = SegmentName(sequence: 0, firstIndex: 0)
        let (file, end, crc) = try makeSegment(
            name, previousCRC: 0, epoch: 0, metadata: metadata, state: [], directory: directory,
            fileSystem: fileSystem, options: options)
        return WriteAheadLog(
            fileSystem: fileSystem, directory: directory, options: options, metadata: metadata,
            segments: [name], active: file, offset: end, crc: crc, lastIndex: 0, latestState: [:], epoch: 0)
    }

    /// Opens an existing log for appending, returning it with everything it
    /// holds from `snapshot` on (see `WALContents.records`). Verifies every
    /// segment; cuts off a torn tail in the last segment (and re-zeroes the
    /// space after it); removes leftover temporary segments. Throws
    /// `.corruptWAL` (file, offset, advice) for damage anywhere else,
    /// `.snapshotMarkerNotFound` if `snapshot` is given but not in the log,
    /// and `.snapshotRequired` if `snapshot` is nil but segments were
    /// released (the log no longer starts at the beginning).
    public static func open(
        directory: String, fileSystem: any FileSystem, options: WALOptions = WALOptions(),
        from snapshot: WALSnapshot? = nil
    ) throws(StorageError) -> (log: WriteAheadLog, contents: WALContents) {
        try validate(options, metadata: [])
        let scan = try WALReader(fileSystem: fileSystem, directory: directory, options: options).read(from: snapshot)
        guard let last = scan.segments.last else { throw .walNotFound(directory: directory) }
        try removeTemporaryFiles(in: directory, fileSystem: fileSystem)

        let file = try fileSystem.open(Path.join(directory, last.name.fileName), mode: .existing)
        if last.end < last.size && scan.contents.tornTail != nil {
            // Zero everything after the last valid record, so a later crash
            // cannot resurrect torn bytes next to new records.
            try file.truncate(to: last.end)
        }
        if try file.size() < options.segmentSize { try file.preallocate(size: options.segmentSize) }
        try file.sync()
        // The next segment is named at least past the active one's first
        // index, even if the records read say less: release trusts names,
        // and a higher name only makes it keep more.
        let namedFloor = last.name.firstIndex > 0 ? last.name.firstIndex - 1 : 0
        let log = WriteAheadLog(
            fileSystem: fileSystem, directory: directory, options: options, metadata: scan.contents.metadata,
            segments: scan.segments.map(\.name), active: file, offset: last.end, crc: scan.crc,
            lastIndex: max(scan.lastIndex, namedFloor),
            latestState: scan.latestState, epoch: scan.maxEpoch &+ 1)
        return (log, scan.contents)
    }

    /// Reads and verifies a log without changing anything on disk (a torn
    /// tail is reported, not cut). For tools, and for choosing which
    /// snapshot file to load before opening.
    public static func read(
        directory: String, fileSystem: any FileSystem, options: WALOptions = WALOptions(),
        from snapshot: WALSnapshot? = nil
    ) throws(StorageError) -> WALContents {
        try WALReader(fileSystem: fileSystem, directory: directory, options: options).read(from: snapshot).contents
    }

    /// The snapshot markers in a log, oldest first, verified as `read`
    /// verifies (etcd's ValidSnapshotEntries). Startup uses them to pick the
    /// newest snapshot file the log agrees with, before opening from it.
    public static func snapshotMarkers(
        directory: String, fileSystem: any FileSystem, options: WALOptions = WALOptions()
    ) throws(StorageError) -> [WALSnapshot] {
        try WALReader(fileSystem: fileSystem, directory: directory, options: options)
            .read(from: nil, allowReleasedStart: true).contents.snapshots
    }

    // MARK: Writing

    /// Appends records with one write. Not durable until `sync()` returns.
    /// Throws `.invalidRecord` (nothing written) for a reserved type or an
    /// oversized payload.
    public func append(_ records: [WALRecord]) throws(StorageError) {
        try checkUsable()
        guard !records.isEmpty else { return }
        for record in records {
            guard record.type <= WALRecord.maxType else {
                throw .invalidRecord(reason: "type \(record.type) is reserved (callers use 0...\(WALRecord.maxType))")
            }
            guard record.payload.count <= options.maxPayloadSize else {
                throw .invalidRecord(reason: "payload of \(record.payload.count) bytes exceeds \(options.maxPayloadSize)")
            }
        }
        var bytes: [UInt8] = []
        var running = crc
        for record in records {
            let frame = WALFrame.encode(
                type: record.type, index: record.index, epoch: epoch, payload: record.payload, previousCRC: running)
            bytes += frame.bytes
            running = frame.crc
        }
        try write(bytes, crc: running)
        for record in records {
            if record.index == 0 { latestState[record.type] = record } else { lastIndex = record.index }
        }
    }

    /// Records that a snapshot at `snapshot` exists (call after the snapshot
    /// file is durable, then `sync()`). Opening "from" it later requires
    /// this marker.
    public func appendSnapshotMarker(_ snapshot: WALSnapshot) throws(StorageError) {
        try checkUsable()
        let frame = WALFrame.encode(
            type: WALFrame.snapshotType, index: 0, epoch: epoch, payload: snapshot.encoded(), previousCRC: crc)
        try write(frame.bytes, crc: frame.crc)
        // As etcd: later segments are named past the snapshot, so releasing
        // up to it can never remove the segment holding its marker.
        lastIndex = max(lastIndex, snapshot.index)
    }

    /// Makes every record appended so far durable with one fsync (group
    /// commit), then starts a new segment if the active one is full.
    public func sync() throws(StorageError) {
        try checkUsable()
        do {
            if hasUnsyncedWrites {
                try active.sync()
                hasUnsyncedWrites = false
                epoch &+= 1
            }
            if offset >= options.segmentSize { try cut() }
        } catch {
            failure = error
            throw error
        }
    }

    /// Removes the segments that hold nothing a snapshot at `index` still
    /// needs: every segment before the last one whose first index is at or
    /// below `index` (etcd's ReleaseLockTo rule). Never removes the active
    /// segment. Removal goes oldest first and is made durable with one
    /// directory sync, so a crash leaves a consecutive run of segments.
    /// Returns the removed file names.
    @discardableResult
    public func releaseSegments(coveredBy index: UInt64) throws(StorageError) -> [String] {
        try checkUsable()
        var keepFrom = 0
        for (position, name) in segments.enumerated() where name.firstIndex <= index { keepFrom = position }
        guard keepFrom > 0 else { return [] }
        let removed = segments[0..<keepFrom].map(\.fileName)
        do {
            for name in removed { try fileSystem.remove(Path.join(directory, name)) }
            try fileSystem.syncDirectory(directory)
        } catch {
            failure = error
            throw error
        }
        segments.removeFirst(keepFrom)
        return removed
    }

    /// Names of the retained segment files, oldest first.
    public var segmentNames: [String] { segments.map(\.fileName) }

    /// Closes the active segment. Does not sync.
    public func close() {
        active.close()
        failure = failure ?? .walFailed(cause: "the log was closed")
    }

    // MARK: Internals

    private func checkUsable() throws(StorageError) {
        if let failure { throw .walFailed(cause: failure.description) }
    }

    private func write(_ bytes: [UInt8], crc newCRC: UInt32) throws(StorageError) {
        do {
            try active.write(bytes, at: offset)
        } catch {
            failure = error
            throw error
        }
        offset += bytes.count
        crc = newCRC
        hasUnsyncedWrites = true
    }

    /// Closes the full active segment and starts the next. Order matters:
    /// 1. trim the preallocated tail off the old segment and sync it, so a
    ///    non-last segment always ends exactly at its last record;
    /// 2. build the new segment under a `.tmp` name and sync it;
    /// 3. rename it into place and sync the directory.
    /// A crash anywhere leaves either the old segment last (the new one
    /// absent or a `.tmp` that open removes) or a complete new segment.
    private func cut() throws(StorageError) {
        try active.truncate(to: offset)
        try active.sync()
        guard let current = segments.last else { return }
        let name = SegmentName(sequence: current.sequence &+ 1, firstIndex: lastIndex &+ 1)
        let state = latestState.keys.sorted().compactMap { latestState[$0] }
        let (file, end, newCRC) = try WriteAheadLog.makeSegment(
            name, previousCRC: crc, epoch: epoch, metadata: metadata, state: state, directory: directory,
            fileSystem: fileSystem, options: options)
        active.close()
        active = file
        offset = end
        crc = newCRC
        segments.append(name)
    }

    /// Writes a complete segment (header, carried state records, zeroed
    /// preallocation) under a temporary name, then publishes it.
    private static func makeSegment(
        _ name: SegmentName, previousCRC: UInt32, epoch: UInt64, metadata: [UInt8], state: [WALRecord],
        directory: String, fileSystem: any FileSystem, options: WALOptions
    ) throws(StorageError) -> (file: any DurableFile, end: Int, crc: UInt32) {
        let header = SegmentHeader(
            sequence: name.sequence, firstIndex: name.firstIndex, previousCRC: previousCRC, metadata: metadata)
        var frame = WALFrame.encode(
            type: WALFrame.segmentHeaderType, index: 0, epoch: epoch, payload: header.encoded(),
            previousCRC: previousCRC)
        var bytes = frame.bytes
        for record in state {
            frame = WALFrame.encode(
                type: record.type, index: 0, epoch: epoch, payload: record.payload, previousCRC: frame.crc)
            bytes += frame.bytes
        }
        let finalPath = Path.join(directory, name.fileName)
        let temporaryPath = finalPath + ".tmp"
        let temporary = try fileSystem.open(temporaryPath, mode: .truncate)
        try temporary.preallocate(size: options.segmentSize)
        try temporary.write(bytes, at: 0)
        try temporary.sync()
        temporary.close()
        try fileSystem.rename(temporaryPath, to: finalPath)
        try fileSystem.syncDirectory(directory)
        let file = try fileSystem.open(finalPath, mode: .existing)
        return (file, bytes.count, frame.crc)
    }

    private static func removeTemporaryFiles(in directory: String, fileSystem: any FileSystem) throws(StorageError) {
        let leftovers = try fileSystem.listDirectory(directory).filter { $0.hasSuffix(".wal.tmp") }
        guard !leftovers.isEmpty else { return }
        for name in leftovers { try fileSystem.remove(Path.join(directory, name)) }
        try fileSystem.syncDirectory(directory)
    }

    private static func validate(_ options: WALOptions, metadata: [UInt8]) throws(StorageError) {
        guard options.segmentSize >= WALFrame.headerSize * 4, options.maxPayloadSize >= 0,
            options.maxPayloadSize <= Int(UInt32.max), metadata.count + SegmentHeader.fixedSize <= options.maxPayloadSize
        else {
            throw .invalidRecord(reason: "invalid WAL options or oversized metadata")
        }
    }
}
