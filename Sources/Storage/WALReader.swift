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
/// - In the last segment, a record that fails verification and is followed
///   by no valid record header anywhere later in the file is a torn tail:
///   everything from it on is discarded (it was never acknowledged, because
///   sync had not returned).
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
        /// Running CRC after the last valid record.
        var crc: UInt32
        /// Index of the last indexed record (or a later snapshot marker).
        var lastIndex: UInt64
        /// Newest state record (index 0) of each type, in type order.
        var latestState: [UInt8: WALRecord]
        /// Leftover `*.tmp` files from a crash during segment creation.
        var temporaryFiles: [String]
    }

    func read(from snapshot: WALSnapshot?) throws(StorageError) -> Result {
        let names = try fileSystem.listDirectory(directory)
        let segmentNames = names.compactMap(SegmentName.init(parsing:)).sorted()
        guard let first = segmentNames.first else { throw .walNotFound(directory: directory) }
        for (position, name) in segmentNames.enumerated() where name.sequence != first.sequence + UInt64(position) {
            throw .corruptWAL(
                file: Path.join(directory, name.fileName), offset: 0,
                reason: "segment sequence gap: expected sequence \(first.sequence + UInt64(position))")
        }

        var result = Result(
            contents: WALContents(metadata: [], records: [], snapshots: [], tornTail: nil, segments: []),
            segments: [], crc: 0, lastIndex: 0, latestState: [:],
            temporaryFiles: names.filter { $0.hasSuffix(".tmp") })
        var foundSnapshot = snapshot == nil
        for (position, name) in segmentNames.enumerated() {
            let isLast = position == segmentNames.count - 1
            let path = Path.join(directory, name.fileName)
            let file = try fileSystem.open(path, mode: .existing)
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

        // Each pass consumes a whole frame (at least 24 bytes) or stops.
        while offset < bytes.count {
            var failure: String
            var resumeScanAt = offset + WALFrame.alignment
            switch WALFrame.checkHeader(bytes, at: offset, maxPayloadSize: options.maxPayloadSize) {
            case .end:
                if let later = WALFrame.nextValidHeader(bytes, from: offset, maxPayloadSize: options.maxPayloadSize) {
                    throw .corruptWAL(
                        file: path, offset: offset,
                        reason: "zeroed bytes followed by a record header at offset \(later)")
                }
                return offset
            case let .damaged(reason):
                failure = reason
            case let .header(frame):
                resumeScanAt = offset + frame.frameSize
                if let reason = WALFrame.verifyPayload(bytes, at: offset, header: frame, previousCRC: result.crc) {
                    failure = reason
                } else {
                    let payloadStart = offset + WALFrame.headerSize
                    let payload = Array(bytes[payloadStart..<(payloadStart + frame.payloadLength)])
                    try accept(frame, payload, path: path, offset: offset, snapshot: snapshot,
                               foundSnapshot: &foundSnapshot, into: &result)
                    result.crc = frame.recordCRC
                    offset += frame.frameSize
                    continue
                }
            }
            // A damaged record. Torn only if it is in the last segment and
            // nothing that looks like a record follows it.
            let later = WALFrame.nextValidHeader(bytes, from: resumeScanAt, maxPayloadSize: options.maxPayloadSize)
            guard isLast, later == nil else {
                let detail = later.map { "; a valid record header follows at offset \($0)" } ?? ""
                throw .corruptWAL(file: path, offset: offset, reason: failure + detail)
            }
            result.contents.tornTail = WALTornTail(file: name.fileName, offset: offset, reason: failure)
            return offset
        }
        return offset
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
