import NIOCore

/// Answers a client's HTTP/2 PING frames itself, in front of grpc-swift's
/// HTTP/2 handler, so they never count against swift-nio-http2's limit of
/// 200 control frames per 30 s (a denial-of-service heuristic that
/// grpc-swift-nio-transport 2.9.2 gives no way to configure).
///
/// Why: a Go client (etcdctl, clientv3, Kubernetes) receiving a large
/// response sends a BDP ping for nearly every DATA frame that arrives after
/// the previous ping's ack, to size its flow-control window. etcd's Go
/// server acks them all; swift-nio-http2 closed the connection with GOAWAY
/// ENHANCE_YOUR_CALM after 200, which cut `etcdctl snapshot save` of a
/// 138 MB backend in 3 runs out of 5 here ("the connection is draining").
///
/// How: it follows the inbound byte stream frame by frame (after the
/// 24-byte preface): each complete PING without the ACK flag on stream 0
/// with its 8 bytes is answered with a PING ACK written from here and left
/// out of what the HTTP/2 handler reads; every other byte passes through
/// unchanged (a whole read at once when it holds no ping). The server's
/// SETTINGS still come first: the HTTP/2 handler writes them on
/// `channelActive`, before any byte is read. Only while the channel is
/// writable: a client that pings without reading the acks gets its pings
/// passed on, to the HTTP/2 handler's own limits on buffered control
/// frames, so acks cannot pile up in memory. PING ACKs from the client
/// (answers to the server's keep-alive pings) pass through, as does any
/// malformed PING, for the HTTP/2 handler to judge.
///
/// Not needed in front of a server that configures the limit itself.
final class HTTP2PingAnswerer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let frameHeaderSize = 9
    static let pingType: UInt8 = 0x06
    static let ackFlag: UInt8 = 0x01
    static let pingFrameSize = frameHeaderSize + 8

    /// Preface bytes still to pass through.
    private var prefaceLeft = 24
    /// Payload bytes of the current (non-PING) frame still to pass through.
    private var passThrough = 0
    /// A frame header, or a whole PING frame, not complete yet.
    private var held: [UInt8] = []

    /// Pings answered on this connection (for tests and curiosity).
    private(set) var answered = 0

    init() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let input = unwrapInboundIn(data)
        var view = input
        var output: [ByteBuffer] = []
        // Bytes from `runStart` up to the reader index go on as they are.
        var runStart = view.readerIndex
        func endRun() {
            if view.readerIndex > runStart, let run = input.getSlice(at: runStart, length: view.readerIndex - runStart) {
                output.append(run)
            }
        }
        while view.readableBytes > 0 {
            if prefaceLeft > 0 || passThrough > 0 {
                let n = min(view.readableBytes, prefaceLeft > 0 ? prefaceLeft : passThrough)
                view.moveReaderIndex(forwardBy: n)
                if prefaceLeft > 0 { prefaceLeft -= n } else { passThrough -= n }
                continue
            }
            if held.isEmpty, view.readableBytes >= Self.frameHeaderSize,
                let header = view.getBytes(at: view.readerIndex, length: Self.frameHeaderSize)
            {
                // A whole header in this read: the common case.
                guard isAnsweredPing(header, context: context) else {
                    passThrough = Self.payloadLength(header)
                    view.moveReaderIndex(forwardBy: Self.frameHeaderSize)
                    continue
                }
                endRun()
                held = view.readBytes(length: min(view.readableBytes, Self.pingFrameSize)) ?? []
                runStart = view.readerIndex
            } else {
                // A header (or ping) split across reads: gather it.
                endRun()
                let wanted = held.count < Self.frameHeaderSize ? Self.frameHeaderSize : Self.pingFrameSize
                held += view.readBytes(length: min(view.readableBytes, wanted - held.count)) ?? []
                runStart = view.readerIndex
                guard held.count >= Self.frameHeaderSize else { break }
            }
            if isAnsweredPing(held, context: context) {
                guard held.count == Self.pingFrameSize else { continue }
                answer(context: context)
            } else {
                // Not to be answered after all: the bytes gathered go on.
                var gathered = context.channel.allocator.buffer(capacity: held.count)
                gathered.writeBytes(held)
                output.append(gathered)
                passThrough = Self.payloadLength(held) - (held.count - Self.frameHeaderSize)
            }
            held.removeAll(keepingCapacity: true)
        }
        if output.isEmpty && runStart == input.readerIndex {
            // Nothing held or answered: the read goes on whole.
            if view.readerIndex > runStart { context.fireChannelRead(data) }
            return
        }
        endRun()
        for buffer in output { context.fireChannelRead(wrapInboundOut(buffer)) }
    }

    private static func payloadLength(_ header: [UInt8]) -> Int {
        Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
    }

    /// Whether `header` starts a PING this handler answers: not an ACK, 8
    /// bytes, stream 0, and the channel writable.
    private func isAnsweredPing(_ header: [UInt8], context: ChannelHandlerContext) -> Bool {
        header[3] == Self.pingType && header[4] & Self.ackFlag == 0 && Self.payloadLength(header) == 8
            && header[5...8].allSatisfy { $0 == 0 } && context.channel.isWritable
    }

    private func answer(context: ChannelHandlerContext) {
        var ack = context.channel.allocator.buffer(capacity: Self.pingFrameSize)
        ack.writeBytes([0, 0, 8, Self.pingType, Self.ackFlag, 0, 0, 0, 0])
        ack.writeBytes(held[Self.frameHeaderSize...])
        context.writeAndFlush(wrapOutboundOut(ack), promise: nil)
        answered += 1
    }
}
