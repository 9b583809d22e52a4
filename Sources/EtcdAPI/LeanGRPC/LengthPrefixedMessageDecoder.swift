import NIOCore

/// Cuts one gRPC request stream's DATA bytes into messages: each is a
/// 1-byte compressed flag, a 4-byte big-endian length and that many bytes
/// of protobuf (gRPC over HTTP/2, "Length-Prefixed-Message").
///
/// DATA frames and messages need not line up: a message may span frames and
/// a frame may hold several messages. A frame that holds whole messages is
/// sliced without copying; only a message split across frames is gathered.
/// The length is checked against `maxMessageBytes` as soon as the prefix is
/// in, so an oversized message is refused before its body is buffered.
struct LengthPrefixedMessageDecoder {
    enum Failure: Error, Equatable {
        /// A message longer than the limit (grpc-go: RESOURCE_EXHAUSTED).
        case tooLarge(length: Int, limit: Int)
        /// The compressed flag is set: we accept no `grpc-encoding` but identity.
        case compressed
    }

    static let prefixLength = 5

    let maxMessageBytes: Int
    /// Bytes received and not yet returned as messages.
    private var pending: ByteBuffer?

    init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Whether some bytes of an unfinished message are held.
    var hasPartialMessage: Bool { (pending?.readableBytes ?? 0) > 0 }

    mutating func append(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        if pending == nil || pending?.readableBytes == 0 {
            pending = bytes
        } else {
            pending?.writeImmutableBuffer(bytes)
        }
    }

    /// The next complete message's protobuf bytes, or nil until more arrive.
    mutating func next() throws(Failure) -> ByteBuffer? {
        guard var buffer = pending, buffer.readableBytes >= Self.prefixLength,
            let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length32 = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
        else { return nil }
        guard flag == 0 else { throw .compressed }
        let length = Int(length32)
        guard length <= maxMessageBytes else { throw .tooLarge(length: length, limit: maxMessageBytes) }
        guard buffer.readableBytes >= Self.prefixLength + length else { return nil }
        buffer.moveReaderIndex(forwardBy: Self.prefixLength)
        let message = buffer.readSlice(length: length)
        pending = buffer.readableBytes > 0 ? buffer : nil
        return message
    }
}
