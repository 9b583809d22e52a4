import NIOCore

/// Answers the server's HTTP/2 PINGs itself, below the HTTP/2 handler, so
/// that they never reach it.
///
/// Why: a grpc-go server (etcd) sends a PING for every round trip that
/// carries request data (its BDP estimator, which etcd does not turn off),
/// while swift-nio-http2 1.46 treats more than 200 inbound control frames in
/// 30 s as a flood and closes the connection with GOAWAY ENHANCE_YOUR_CALM.
/// Against etcd that killed the client's connection every ~200 requests
/// (seen in a packet capture: the client's GOAWAY code 0xb right after a
/// PING ack), failing the calls in flight and measuring reconnects instead
/// of etcd. grpc-swift-nio-transport does not expose that limit, so the pool
/// installs this handler first in each connection's pipeline instead. It
/// acknowledges each PING exactly as the HTTP/2 handler would (same opaque
/// data) and passes every other frame through unchanged; a server that
/// sends no PINGs (swift-etcd) never triggers it. Plaintext only: with TLS
/// it would have to sit after the TLS handler.
final class ServerPingAnswerer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let frameHeaderSize = 9
    private static let pingFrameSize = 9 + 8
    private static let pingType: UInt8 = 0x6
    private static let ackFlag: UInt8 = 0x1

    /// Bytes of the current (non-PING) frame not yet passed through.
    private var passThrough = 0
    /// The start of a frame split across reads (at most one PING frame).
    private var pending: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var pending {
            pending.writeBuffer(&buffer)
            buffer = pending
            self.pending = nil
        }
        let end = buffer.writerIndex
        var segmentStart = buffer.readerIndex
        var cursor = buffer.readerIndex
        var answered = false
        while cursor < end {
            if passThrough > 0 {
                let step = min(passThrough, end - cursor)
                cursor += step
                passThrough -= step
                continue
            }
            guard end - cursor >= Self.frameHeaderSize, let header = FrameHeader(buffer, at: cursor) else { break }
            guard header.isPing else {
                passThrough = Self.frameHeaderSize + header.length
                continue
            }
            guard end - cursor >= Self.pingFrameSize,
                  let opaque = buffer.getSlice(at: cursor + Self.frameHeaderSize, length: 8)
            else { break }
            forward(buffer, from: segmentStart, to: cursor, context: context)
            context.write(wrapOutboundOut(Self.pingAck(opaque, allocator: context.channel.allocator)), promise: nil)
            answered = true
            cursor += Self.pingFrameSize
            segmentStart = cursor
        }
        forward(buffer, from: segmentStart, to: cursor, context: context)
        if cursor < end { pending = buffer.getSlice(at: cursor, length: end - cursor) }
        if answered { context.flush() }
    }

    private func forward(_ buffer: ByteBuffer, from start: Int, to end: Int, context: ChannelHandlerContext) {
        guard end > start, let slice = buffer.getSlice(at: start, length: end - start) else { return }
        context.fireChannelRead(wrapInboundOut(slice))
    }

    private static func pingAck(_ opaque: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var frame = allocator.buffer(capacity: pingFrameSize)
        frame.writeBytes([0, 0, 8, pingType, ackFlag, 0, 0, 0, 0])
        var opaque = opaque
        frame.writeBuffer(&opaque)
        return frame
    }

    /// The fields of an HTTP/2 frame header this handler needs (RFC 9113 §4.1).
    private struct FrameHeader {
        let length: Int
        let type: UInt8
        let flags: UInt8
        let streamID: UInt32

        init?(_ buffer: ByteBuffer, at index: Int) {
            guard let high = buffer.getInteger(at: index, as: UInt8.self),
                  let low = buffer.getInteger(at: index + 1, as: UInt16.self),
                  let type = buffer.getInteger(at: index + 3, as: UInt8.self),
                  let flags = buffer.getInteger(at: index + 4, as: UInt8.self),
                  let stream = buffer.getInteger(at: index + 5, as: UInt32.self)
            else { return nil }
            length = Int(high) << 16 | Int(low)
            self.type = type
            self.flags = flags
            streamID = stream & 0x7fff_ffff
        }

        /// A PING the server expects an answer to (not an ACK of ours).
        var isPing: Bool {
            type == ServerPingAnswerer.pingType && flags & ServerPingAnswerer.ackFlag == 0
                && length == 8 && streamID == 0
        }
    }
}
