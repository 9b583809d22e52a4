/// The on-disk frame of one WAL record (all integers little-endian):
///
///     offset size field
///          0    2 magic 0x5753 ("SW")
///          2    1 type (caller tags 0...0xEF, WAL tags 0xF0...)
///          3    1 pad length (0...7): zero bytes after the payload
///          4    4 payload length
///          8    8 index (0 for state and WAL records)
///         16    8 sync epoch: how many data syncs of this log had completed
///                 when the record was appended
///         24    4 record CRC32C: chained, over bytes 0..<24 and the payload,
///                 continuing from the previous record's record CRC
///         28    4 header CRC32C over bytes 0..<28 (not chained)
///         32    n payload, then pad zero bytes to a multiple of 8
///
/// Why each piece: frames are 8-aligned and a valid header is never all
/// zero, so zero-filled preallocated space is told apart from data. The
/// header CRC lets the reader trust a length before using it, and lets it
/// scan past a damaged record for later valid ones (which is how real
/// corruption is told apart from a torn tail). The sync epoch tells which
/// records were written after the last completed sync, so a crash that
/// persisted unsynced pages out of order is told apart from damage to
/// synced data. The chained record CRC makes a record copied from another
/// position, segment or log fail to verify.
enum WALFrame {
    static let headerSize = 32
    static let magic: UInt16 = 0x5753
    static let alignment = 8

    /// WAL-internal record types.
    static let segmentHeaderType: UInt8 = 0xF0
    static let snapshotType: UInt8 = 0xF1

    struct Header: Equatable {
        var type: UInt8
        var padLength: Int
        var payloadLength: Int
        var index: UInt64
        var epoch: UInt64
        var recordCRC: UInt32

        var frameSize: Int { WALFrame.headerSize + payloadLength + padLength }
    }

    /// Encodes one frame, chaining from `previousCRC`. Returns the bytes
    /// and the new running CRC.
    static func encode(
        type: UInt8, index: UInt64, epoch: UInt64, payload: [UInt8], previousCRC: UInt32
    ) -> (bytes: [UInt8], crc: UInt32) {
        var bytes: [UInt8] = []
        let pad = (alignment - payload.count % alignment) % alignment
        bytes.reserveCapacity(headerSize + payload.count + pad)
        LittleEndian.append(magic, to: &bytes)
        bytes.append(type)
        bytes.append(UInt8(pad))
        LittleEndian.append(UInt32(payload.count), to: &bytes)
        LittleEndian.append(index, to: &bytes)
        LittleEndian.append(epoch, to: &bytes)
        var crc = CRC32C.update(previousCRC, bytes)
        crc = CRC32C.update(crc, payload)
        LittleEndian.append(crc, to: &bytes)
        LittleEndian.append(CRC32C.checksum(bytes), to: &bytes)
        bytes.append(contentsOf: payload)
        bytes.append(contentsOf: repeatElement(0, count: pad))
        return (bytes, crc)
    }

    enum HeaderCheck: Equatable {
        /// Zero bytes (preallocated space) or end of file.
        case end
        case header(Header)
        case damaged(String)
    }

    /// Checks the header at `offset`. Does not check the payload.
    static func checkHeader(_ bytes: [UInt8], at offset: Int, maxPayloadSize: Int) -> HeaderCheck {
        let available = bytes.count - offset
        if available <= 0 { return .end }
        if available < headerSize {
            return isZero(bytes, offset..<bytes.count) ? .end : .damaged("truncated record header")
        }
        if isZero(bytes, offset..<(offset + headerSize)) { return .end }
        guard LittleEndian.readUInt16(bytes, at: offset) == magic else { return .damaged("bad record magic") }
        let storedHeaderCRC = LittleEndian.readUInt32(bytes, at: offset + 28)
        guard storedHeaderCRC == CRC32C.update(0, bytes, range: offset..<(offset + 28)) else {
            return .damaged("record header checksum mismatch")
        }
        guard let length = LittleEndian.readUInt32(bytes, at: offset + 4),
            let index = LittleEndian.readUInt64(bytes, at: offset + 8),
            let epoch = LittleEndian.readUInt64(bytes, at: offset + 16),
            let recordCRC = LittleEndian.readUInt32(bytes, at: offset + 24)
        else { return .damaged("truncated record header") }
        let header = Header(
            type: bytes[offset + 2], padLength: Int(bytes[offset + 3]), payloadLength: Int(length),
            index: index, epoch: epoch, recordCRC: recordCRC)
        guard header.padLength < alignment, header.frameSize % alignment == 0 else {
            return .damaged("bad padding length \(header.padLength)")
        }
        guard header.payloadLength <= maxPayloadSize else {
            return .damaged("payload length \(header.payloadLength) exceeds limit \(maxPayloadSize)")
        }
        guard header.frameSize <= available else { return .damaged("record extends past end of file") }
        return .header(header)
    }

    /// Verifies the payload of a frame whose header passed `checkHeader`,
    /// given the running CRC before it. Returns a reason on failure.
    static func verifyPayload(_ bytes: [UInt8], at offset: Int, header: Header, previousCRC: UInt32) -> String? {
        var crc = CRC32C.update(previousCRC, bytes, range: offset..<(offset + 24))
        let payloadStart = offset + headerSize
        crc = CRC32C.update(crc, bytes, range: payloadStart..<(payloadStart + header.payloadLength))
        guard crc == header.recordCRC else { return "record checksum mismatch" }
        let padStart = payloadStart + header.payloadLength
        guard isZero(bytes, padStart..<(padStart + header.padLength)) else { return "non-zero padding" }
        return nil
    }

    /// The first 8-aligned position at or after `start` holding a header
    /// with valid magic and header CRC, if any, with that header. Used to
    /// tell a torn tail (nothing valid follows) from corruption (data
    /// follows). Runs over whole preallocated segments, so it reads words.
    static func nextValidHeader(_ bytes: [UInt8], from start: Int, maxPayloadSize: Int) -> (offset: Int, header: Header)? {
        let found = bytes.withUnsafeBytes { raw -> Int? in
            var offset = start
            while offset + headerSize <= raw.count {  // advances by 8 each pass
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                if word != 0, UInt16(truncatingIfNeeded: word) == magic {
                    let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 28, as: UInt32.self))
                    if stored == CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 28)])) {
                        return offset
                    }
                }
                offset += alignment
            }
            return nil
        }
        guard let found else { return nil }
        switch checkHeader(bytes, at: found, maxPayloadSize: maxPayloadSize) {
        case let .header(header): return (found, header)
        case .end, .damaged:
            // Valid header whose frame does not fit (its tail was lost):
            // still evidence of a record; decode the fields regardless.
            let fields = Header(
                type: bytes[found + 2], padLength: Int(bytes[found + 3]),
                payloadLength: Int(LittleEndian.readUInt32(bytes, at: found + 4) ?? 0),
                index: LittleEndian.readUInt64(bytes, at: found + 8) ?? 0,
                epoch: LittleEndian.readUInt64(bytes, at: found + 16) ?? 0,
                recordCRC: LittleEndian.readUInt32(bytes, at: found + 24) ?? 0)
            return (found, fields)
        }
    }

    /// Whether every byte in `range` is zero (word at a time).
    static func isZero(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        bytes.withUnsafeBytes { raw -> Bool in
            var offset = range.lowerBound
            while offset + 8 <= range.upperBound {  // advances by 8 each pass
                if raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != 0 { return false }
                offset += 8
            }
            while offset < range.upperBound {  // at most 7 passes
                if raw[offset] != 0 { return false }
                offset += 1
            }
            return true
        }
    }
}

/// The payload of the record that opens every segment.
struct SegmentHeader: Equatable {
    static let formatVersion: UInt32 = 1
    /// Bytes before the metadata: version, sequence, first index, CRC.
    static let fixedSize = 24
    var sequence: UInt64
    var firstIndex: UInt64
    /// The running CRC at the end of the previous segment (0 for the first),
    /// which also seeds this record's chained CRC.
    var previousCRC: UInt32
    var metadata: [UInt8]

    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        LittleEndian.append(SegmentHeader.formatVersion, to: &bytes)
        LittleEndian.append(sequence, to: &bytes)
        LittleEndian.append(firstIndex, to: &bytes)
        LittleEndian.append(previousCRC, to: &bytes)
        bytes.append(contentsOf: metadata)
        return bytes
    }

    /// Nil when the payload is not a version-1 segment header.
    init?(decoding bytes: [UInt8]) {
        guard LittleEndian.readUInt32(bytes, at: 0) == SegmentHeader.formatVersion,
            let sequence = LittleEndian.readUInt64(bytes, at: 4),
            let firstIndex = LittleEndian.readUInt64(bytes, at: 12),
            let previousCRC = LittleEndian.readUInt32(bytes, at: 20)
        else { return nil }
        self.init(
            sequence: sequence, firstIndex: firstIndex, previousCRC: previousCRC,
            metadata: Array(bytes[SegmentHeader.fixedSize...]))
    }

    init(sequence: UInt64, firstIndex: UInt64, previousCRC: UInt32, metadata: [UInt8]) {
        self.sequence = sequence
        self.firstIndex = firstIndex
        self.previousCRC = previousCRC
        self.metadata = metadata
    }
}

extension WALSnapshot {
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        LittleEndian.append(index, to: &bytes)
        LittleEndian.append(term, to: &bytes)
        return bytes
    }

    init?(decoding bytes: [UInt8]) {
        guard bytes.count == 16, let index = LittleEndian.readUInt64(bytes, at: 0),
            let term = LittleEndian.readUInt64(bytes, at: 8)
        else { return nil }
        self.init(index: index, term: term)
    }
}

/// Segment file names, as etcd: `%016x-%016x.wal` (sequence-firstIndex).
struct SegmentName: Equatable, Comparable {
    var sequence: UInt64
    var firstIndex: UInt64

    var fileName: String { "\(Hex.pad16(sequence))-\(Hex.pad16(firstIndex)).wal" }

    init(sequence: UInt64, firstIndex: UInt64) {
        self.sequence = sequence
        self.firstIndex = firstIndex
    }

    /// Nil for anything that is not exactly a segment name.
    init?(parsing name: String) {
        guard name.count == 16 + 1 + 16 + 4, name.hasSuffix(".wal") else { return nil }
        let body = name.dropLast(4)
        let parts = body.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let sequence = Hex.parse16(parts[0]), let index = Hex.parse16(parts[1]) else {
            return nil
        }
        self.init(sequence: sequence, firstIndex: index)
    }

    static func < (a: SegmentName, b: SegmentName) -> Bool { a.sequence < b.sequence }
}
