/// A value with a compact, versionless binary form, used by the peer transport and the WAL.
public protocol BinaryCodable: Sendable {
    func encode(to writer: inout BinaryWriter)
    init(from reader: inout BinaryReader) throws(BinaryDecodingError)
}

extension BinaryCodable {
    /// The value's encoding as a standalone byte string.
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes a standalone byte string, rejecting truncated, malformed or over-long input.
    public init(decoding bytes: [UInt8]) throws(BinaryDecodingError) {
        var reader = BinaryReader(bytes)
        self = try Self(from: &reader)
        guard reader.isAtEnd else { throw .trailingBytes(reader.remainingCount) }
    }
}

extension Entry: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(term)
        w.write(index)
        w.write(type.rawValue)
        w.write(data)
    }

    public init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        term = try r.readUInt64()
        index = try r.readUInt64()
        type = try r.readEnum(EntryType.self)
        data = try r.readBytes()
    }
}

extension HardState: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(term)
        w.write(vote)
        w.write(commit)
    }

    public init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        term = try r.readUInt64()
        vote = try r.readUInt64()
        commit = try r.readUInt64()
    }
}

extension ConfState: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(voters)
        w.write(learners)
    }

    public init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        self.init(voters: try r.readUInt64Array(), learners: try r.readUInt64Array())
    }
}

extension ConfChange: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(type.rawValue)
        w.write(nodeID)
        w.write(context)
    }

    public init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        type = try r.readEnum(ConfChangeType.self)
        nodeID = try r.readUInt64()
        context = try r.readBytes()
    }
}

extension SnapshotMetadata: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(index)
        w.write(term)
        w.write(confState)
    }

    public init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        index = try r.readUInt64()
        term = try r.readUInt64()
        confState = try r.read()
    }
}

extension Snapshot: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(metadata)
        w.write(data)
    }

    public init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        metadata = try r.read()
        data = try r.readBytes()
    }
}

extension Message: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(type.rawValue)
        w.write(to)
        w.write(from)
        w.write(term)
        w.write(logTerm)
        w.write(index)
        w.write(entries)
        w.write(commit)
        w.write(snapshot != nil)
        if let snapshot { w.write(snapshot) }
        w.write(reject)
        w.write(rejectHint)
        w.write(context)
    }

    public init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        type = try r.readEnum(MessageType.self)
        to = try r.readUInt64()
        from = try r.readUInt64()
        term = try r.readUInt64()
        logTerm = try r.readUInt64()
        index = try r.readUInt64()
        entries = try r.readArray(of: Entry.self)
        commit = try r.readUInt64()
        snapshot = try r.readBool() ? try r.read(Snapshot.self) : nil
        reject = try r.readBool()
        rejectHint = try r.readUInt64()
        context = try r.readBytes()
    }
}
