import NIOCore
import Raft

/// One unit on a peer connection. On the wire every frame is a 4-byte big-endian length
/// followed by that many bytes: a kind byte and the kind's body.
///
/// A connection carries: dialer → acceptor `hello`; acceptor → dialer `helloReply`; then only
/// dialer → acceptor `message` and `snapshotChunk` frames. Messages flow one way per
/// connection, so each pair of members keeps two connections, one per direction.
enum PeerFrame: Sendable, Hashable {
    case hello(PeerHello)
    case helloReply(PeerHelloReply)
    /// A `BinaryCodable` encoding of one `Message`.
    case message(ByteBuffer)
    /// A piece of a large `MsgSnap` encoding; see `SnapshotChunk`.
    case snapshotChunk(SnapshotChunk)

    enum Kind: UInt8 {
        case hello = 1
        case helloReply = 2
        case message = 3
        case snapshotChunk = 4
    }

    /// Bytes before a frame's body: the length prefix and the kind byte.
    static let headerSize = 5
}

/// A slice of one snapshot message's encoding. `offset` lets the receiver verify that chunks
/// arrive contiguously; `totalSize` lets it reject an oversized snapshot before buffering it.
struct SnapshotChunk: Sendable, Hashable {
    var transferID: UInt64
    var totalSize: UInt64
    var offset: UInt64
    var data: ByteBuffer

    /// Bytes of a chunk body before its data.
    static let headerSize = 24
}

// MARK: - Encoding

extension PeerFrame {
    /// Appends the frame, length prefix included, to `buffer`.
    func write(to buffer: inout ByteBuffer) {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        switch self {
        case let .hello(hello):
            buffer.writeInteger(Kind.hello.rawValue)
            buffer.writeBytes(PeerHello.magic)
            buffer.writeInteger(hello.version)
            buffer.writeInteger(hello.clusterID)
            buffer.writeInteger(hello.from)
            buffer.writeInteger(hello.to)
        case let .helloReply(reply):
            buffer.writeInteger(Kind.helloReply.rawValue)
            buffer.writeBytes(PeerHello.magic)
            buffer.writeInteger(reply.version)
            buffer.writeInteger(reply.status.rawValue)
            buffer.writeInteger(reply.clusterID)
            buffer.writeInteger(reply.memberID)
        case let .message(bytes):
            buffer.writeInteger(Kind.message.rawValue)
            buffer.writeImmutableBuffer(bytes)
        case let .snapshotChunk(chunk):
            buffer.writeInteger(Kind.snapshotChunk.rawValue)
            buffer.writeInteger(chunk.transferID)
            buffer.writeInteger(chunk.totalSize)
            buffer.writeInteger(chunk.offset)
            buffer.writeImmutableBuffer(chunk.data)
        }
        let length = buffer.writerIndex - lengthIndex - 4
        buffer.setInteger(UInt32(truncatingIfNeeded: length), at: lengthIndex)
    }

    /// The frame as a standalone buffer, ready to write to a channel.
    func encoded(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Self.headerSize + bodySizeHint)
        write(to: &buffer)
        return buffer
    }

    private var bodySizeHint: Int {
        switch self {
        case .hello, .helloReply: 40
        case let .message(bytes): bytes.readableBytes
        case let .snapshotChunk(chunk): SnapshotChunk.headerSize + chunk.data.readableBytes
        }
    }
}

// MARK: - Decoding

extension PeerFrame {
    /// Parses one frame body (kind byte onward). Never traps: anything unexpected throws.
    init(body: inout ByteBuffer) throws(PeerProtocolError) {
        guard let rawKind = body.readInteger(as: UInt8.self) else { throw .emptyFrame }
        guard let kind = Kind(rawValue: rawKind) else { throw .unknownFrameKind(rawKind) }
        switch kind {
        case .hello:
            try Self.readMagic(&body)
            guard let version = body.readInteger(as: UInt16.self),
                  let clusterID = body.readInteger(as: UInt64.self),
                  let from = body.readInteger(as: UInt64.self),
                  let to = body.readInteger(as: UInt64.self)
            else { throw .malformedFrame("truncated hello") }
            self = .hello(PeerHello(version: version, clusterID: clusterID, from: from, to: to))
        case .helloReply:
            try Self.readMagic(&body)
            guard let version = body.readInteger(as: UInt16.self),
                  let rawStatus = body.readInteger(as: UInt8.self),
                  let clusterID = body.readInteger(as: UInt64.self),
                  let memberID = body.readInteger(as: UInt64.self)
            else { throw .malformedFrame("truncated hello reply") }
            guard let status = PeerHelloReply.Status(rawValue: rawStatus) else {
                throw .malformedFrame("unknown handshake status \(rawStatus)")
            }
            self = .helloReply(
                PeerHelloReply(version: version, status: status, clusterID: clusterID, memberID: memberID))
        case .message:
            self = .message(body.readSlice(length: body.readableBytes) ?? ByteBuffer())
            return
        case .snapshotChunk:
            guard let transferID = body.readInteger(as: UInt64.self),
                  let totalSize = body.readInteger(as: UInt64.self),
                  let offset = body.readInteger(as: UInt64.self)
            else { throw .malformedFrame("truncated snapshot chunk") }
            let data = body.readSlice(length: body.readableBytes) ?? ByteBuffer()
            self = .snapshotChunk(
                SnapshotChunk(transferID: transferID, totalSize: totalSize, offset: offset, data: data))
            return
        }
        guard body.readableBytes == 0 else { throw .malformedFrame("\(body.readableBytes) trailing bytes") }
    }

    private static func readMagic(_ body: inout ByteBuffer) throws(PeerProtocolError) {
        guard let magic = body.readBytes(length: PeerHello.magic.count), magic == PeerHello.magic else {
            throw .badMagic
        }
    }
}
