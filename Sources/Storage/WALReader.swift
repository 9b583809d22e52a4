/// Reads and verifies every segment of a log. Pure with respect to the
/// disk: it never modifies anything, so `WriteAheadLog.read` can run it on a
/// live member's directory and `WriteAheadLog.open` can decide repairs from
/// its result.
///
/// Recovery rules (see Docs/storage.md):
/// - Segments must have consecutive sequence numbers, each must start with
///   a segment header whose sequence and first index match its name, whose
///   previous-CRC matches the end of the previous segment, and whose
///   metadata matches the others.
/// - In the last segment, a record that fails verification is a torn tail
///   when nothing valid follows it. It is also torn when the disk evidently
///   persisted unsynced pages out of order: every valid record header after
///   it belongs to one sync epoch, the epoch of the last good record or the
///   next one (so all were appended after the last completed sync), and in
///   some 512-byte sector before the next valid header everything from the
///   damaged spot to the sector's end is zero (a sector write that never
///   reached the preallocated space; bit rot does not zero sectors).
///   Everything from the damaged record on is discarded: none of it was
///   acknowledged.
/// - Anything else that fails verification is corruption: the read fails
///   with the file and byte offset, dropping nothing.
struct WALReader {
    let fileSystem: any FileSystem
    let directory: String
    let options: WALOptions

    /// Per-segment facts the writer needs.
    struct Segment {
        var name: SegmentName
        /// Offset just past the last valid record.
        var end: Int
        var size: Int
    }

    struct Result {
        var contents: WALContents
        var segments: [Segment]
        /// Highest sync epoch among valid records.
        var maxEpoch: UInt64 = 0
        /// Running CRC after the last valid record.
        var crc: UInt32
        /// Sync epoch of the last valid record (segment headers included).
        var epoch: UInt64 = 0
        /// Index of the last indexed record (or a later snapshot marker).
        var lastIndex: UInt64
        /// Newest state record (index 0) of each type.
        var latestState: [UInt8: WALRecord]
    }

    /// Reads every segment. With `snapshot` nil, the log must still start at
    /// segment 0 unless `allowReleasedStart` (for listing markers only).
    func read(from snapshot: WALSnapshot?, allowReleasedStart: Bool = false) throws(StorageError) -> Result {
        guard fileSystem.exists(directory) else { throw .walNotFound(directory: directory) }
        let names = try fileSystem.listDirectory(directory)
        let segmentNames = names.compactMap(SegmentName.init(parsing:)).sorted()
        guard let first = segmentNames.first else { throw .walNotFound(directory: directory) }
        // Reading "from the beginning" is only complete if the beginning is
        // still there (etcd likewise needs segment 0 for an empty snapshot).
        if snapshot == nil && first.sequence != 0 && !allowReleasedStart {
            throw .snapshotRequired(directory: directory, firstSegment: first.fileName)
        }
        for (position, name) in segmentNames.enumerated() where name.sequence != first.sequence &+ UInt64(position) {
            throw .corruptWAL(
                file: Path.join(directory, name.fileName), offset: 0,
                reason: "segment sequence gap: expected sequence \(first.sequence &+ UInt64(position))")
        }

        var result = Result(
            contents: WALContents(metadata: [], records: [], snapshots: [], tornTail: nil, segments: []),
            segments: [], crc: 0, lastIndex: 0, latestState: [:])
        var foundSnapshot = snapshot == nil
        for (position, name) in segmentNames.enumerated() {
            let isLast = position == segmentNames.count - 1
            let path = Path.join(directory, name.fileName)
            let file = try fileSystem.open(path, mode: .readOnly)
            defer { file.close() }
            let bytes = try file.readAll()
            let end = try readSegment(
                bytes, name: name, path: path, isFirst: position == 0, isLast: isLast,
                snapshot: snapshot, foundSnapshot: &foundSnapshot, into: &result)
            result.segments.append(Segment(name: name, end: end, size: bytes.count))
            result.contents.segments.append(name.fileName)
        }
        if let snapshot, !foundSnapshot {
            throw .snapshotMarkerNotFound(index: snapshot.index, term: snapshot.term)
        }
        return result
    }

    /// Verifies one segment, appending its records to `result`. Returns the
    /// offset just past its last valid record.
    private func readSegment(
        _ bytes: [UInt8], name: SegmentName, path: String, isFirst: Bool, isLast: Bool,
        snapshot: WALSnapshot?, foundSnapshot: inout Bool, into result: inout Result
    ) throws(StorageError) -> Int {
        // The segment header: written and synced before the file got its
        // name, so damage here is never a torn write.
        let header = try readSegmentHeader(bytes, name: name, path: path, isFirst: isFirst, into: &result)
        var offset = header

        // Each pass consumes a whole frame (at least 32 bytes) or stops.
        while offset < bytes.count {
            var failure: String
            var resumeScanAt = offset + WALFrame.alignment
            var damagedEpoch: UInt64?
            switch WALFrame.checkHeader(bytes, at: offset, maxPayloadSize: options.maxPayloadSize) {
            case .end:
                guard let later = laterRecords(bytes, from: offset) else {
                    // Stray non-record bytes after the end of the last
                    // segment's data are reported so open zeroes them.
                    if isLast, !WALFrame.isZero(bytes, offset..<bytes.count) {
                        result.contents.tornTail = WALTornTail(
                            file: name.fileName, offset: offset, reason: "stray bytes after the last record",
                            discardedLaterRecords: false)
                    }
                    return offset
                }
                failure = "zeroed bytes"
                if !isLast || !laterRecordsAreUnsynced(
                    bytes, damagedAt: offset, later, damagedEpoch: nil, previousEpoch: result.epoch)
                {
                    throw .corruptWAL(
                        file: path, offset: offset,
                        reason: "zeroed bytes followed by a record header at offset \(later.first)")
                }
                result.contents.tornTail = WALTornTail(
                    file: name.fileName, offset: offset, reason: failure, discardedLaterRecords: true)
                return offset
            case let .damaged(reason):
                failure = reason
            case let .header(frame):
                resumeScanAt = offset + frame.frameSize
                damagedEpoch = frame.epoch
                if let reason = WALFrame.verifyPayload(bytes, at: offset, header: frame, previousCRC: result.crc) {
                    failure = reason
                } else {
                    let payloadStart = offset + WALFrame.headerSize
                    let payload = Array(bytes[payloadStart..<(payloadStart + frame.payloadLength)])
                    try accept(frame, payload, path: path, offset: offset, snapshot: snapshot,
                               foundSnapshot: &foundSnapshot, into: &result)
                    result.crc = frame.recordCRC
                    result.epoch = frame.epoch
                    result.maxEpoch = max(result.maxEpoch, frame.epoch)
                    offset += frame.frameSize
                    continue
                }
            }
            // A damaged record: torn only in the last segment, and only if
            // whatever follows was never synced either.
            let later = laterRecords(bytes, from: resumeScanAt)
            let unsynced = later.map {
                laterRecordsAreUnsynced(
                    bytes, damagedAt: offset, $0, damagedEpoch: damagedEpoch, previousEpoch: result.epoch)
            } ?? true
            guard isLast, unsynced else {
                let detail = later.map { "; a valid record header follows at offset \($0.first)" } ?? ""
                throw .corruptWAL(file: path, offset: offset, reason: failure + detail)
            }
            result.contents.tornTail = WALTornTail(
                file: name.fileName, offset: offset, reason: failure, discardedLaterRecords: later != nil)
            return offset
        }
        return offset
    }

    /// Valid record headers after a damaged spot: where the first is, and
    /// the sync epochs they carry. Nil when there are none.
    private func laterRecords(_ bytes: [UInt8], from start: Int) -> (first: Int, epochs: Set<UInt64>)? {
        var first: Int?
        var epochs = Set<UInt64>()
        var position = start
        // Each pass moves past one header found (at least 8 bytes).
        while let (at, header) = WALFrame.nextValidHeader(bytes, from: position, maxPayloadSize: options.maxPayloadSize) {
            first = first ?? at
            epochs.insert(header.epoch)
            // Skip the frame so headers embedded in a payload are not read.
            let end = at + header.frameSize
            position = end <= bytes.count ? end : at + WALFrame.alignment
        }
        return first.map { ($0, epochs) }
    }

    /// Whether damage at `damagedAt` followed by `later` records is what a
    /// crash leaves when unsynced pages reach the disk out of order: the
    /// later records are all of one epoch, the one in progress at the last
    /// good record or the next (matching the damaged record's own epoch when
    /// its header survived), and some 512-byte sector of the damaged span is
    /// still zero from the damaged spot (or its start) to its end. Records
    /// of an older epoch were synced, so damage before them is corruption;
    /// so is damage with no lost sector.
    private func laterRecordsAreUnsynced(
        _ bytes: [UInt8], damagedAt: Int, _ later: (first: Int, epochs: Set<UInt64>),
        damagedEpoch: UInt64?, previousEpoch: UInt64
    ) -> Bool {
        guard later.epochs.count == 1, let epoch = later.epochs.first else { return false }
        guard epoch == previousEpoch || epoch == previousEpoch &+ 1 else { return false }
        guard damagedEpoch == nil || damagedEpoch == epoch else { return false }
        // A lost sector reads as its old contents: zeros from the damaged
        // spot (or the sector start) to the sector end. The sector holding
        // the next valid header was written, so only earlier ones count.
        let sectorSize = 512
        var sector = damagedAt / sectorSize * sectorSize
        while sector + sectorSize <= later.first {  // one pass per sector of the damaged span
            if WALFrame.isZero(bytes, max(damagedAt, sector)..<(sector + sectorSize)) { return true }
            sector += sectorSize
        }
        return false
    }

    private func readSegmentHeader(
        _ bytes: [UInt8], name: SegmentName, path: String, isFirst: Bool, into result: inout Result
    ) throws(StorageError) -> Int {
        guard case let .header(frame) = WALFrame.checkHeader(bytes, at: 0, maxPayloadSize: options.maxPayloadSize),
            frame.type == WALFrame.segmentHeaderType
        else {
            throw .corruptWAL(file: path, offset: 0, reason: "missing or damaged segment header")
        }
        let payload = Array(bytes[WALFrame.headerSize..<(WALFrame.headerSize + frame.payloadLength)])
        guard let header = SegmentHeader(decoding: payload) else {
            throw .corruptWAL(file: path, offset: 0, reason: "unreadable segment header (unknown format version?)")
        }
        guard header.sequence == name.sequence, header.firstIndex == name.firstIndex else {
            throw .corruptWAL(file: path, offset: 0, reason: "segment header does not match the file name")
        }
        if isFirst {
            result.crc = header.previousCRC
            result.contents.metadata = header.metadata
        } else {
            guard header.previousCRC == result.crc else {
                throw .corruptWAL(
                    file: path, offset: 0, reason: "segment does not continue the previous segment's checksum chain")
            }
            guard header.metadata == result.contents.metadata else {
                throw .corruptWAL(file: path, offset: 0, reason: "segment metadata differs from the first segment's")
            }
        }
        if let reason = WALFrame.verifyPayload(bytes, at: 0, header: frame, previousCRC: result.crc) {
            throw .corruptWAL(file: path, offset: 0, reason: "segment header: \(reason)")
        }
        result.crc = frame.recordCRC
        result.epoch = frame.epoch
        result.maxEpoch = max(result.maxEpoch, frame.epoch)
        return frame.frameSize
    }

    private func accept(
        _ frame: WALFrame.Header, _ payload: [UInt8], path: String, offset: Int,
        snapshot: WALSnapshot?, foundSnapshot: inout Bool, into result: inout Result
    ) throws(StorageError) {
        switch frame.type {
        case 0...WALRecord.maxType:
            let record = WALRecord(type: frame.type, index: frame.index, payload: payload)
            if frame.index == 0 {
                result.latestState[frame.type] = record
                result.contents.records.append(record)
            } else {
                result.lastIndex = frame.index
                if frame.index > (snapshot?.index ?? 0) { result.contents.records.append(record) }
            }
        case WALFrame.snapshotType:
            guard let marker = WALSnapshot(decoding: payload) else {
                throw .corruptWAL(file: path, offset: offset, reason: "unreadable snapshot marker")
            }
            result.contents.snapshots.append(marker)
            result.lastIndex = max(result.lastIndex, marker.index)
            if marker == snapshot { foundSnapshot = true }
        default:
            throw .corruptWAL(
                file: path, offset: offset, reason: "unexpected record type \(frame.type) (newer format?)")
        }
    }
}
