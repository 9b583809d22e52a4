import NIOCore

/// Splits a byte stream into `PeerFrame`s. The length prefix is checked before any body is
/// buffered, so a garbage or hostile length costs nothing but the connection.
///
/// The first frame of a connection must be a handshake, which is tiny; holding it to a small
/// limit means random bytes from a stray client (an HTTP probe, a port scanner) are refused
/// at once instead of after the decoder waited for megabytes that never come.
struct PeerFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = PeerFrame

    /// Limit for the first frame on a connection (a hello or hello reply is 40 bytes).
    static let handshakeFrameLimit = 128

    let maxFrameSize: Int
    private var sawFirstFrame = false

    init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let rawLength = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return .needMoreData
        }
        let length = Int(rawLength)
        let limit = sawFirstFrame ? maxFrameSize : Self.handshakeFrameLimit
        guard length > 0 else { throw PeerProtocolError.emptyFrame }
        guard length <= limit else { throw PeerProtocolError.frameTooLarge(length: length, limit: limit) }
        guard buffer.readableBytes >= 4 + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard var body = buffer.readSlice(length: length) else { return .needMoreData }
        let frame = try PeerFrame(body: &body)
        sawFirstFrame = true
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // A partial frame at EOF is simply discarded with the connection.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
