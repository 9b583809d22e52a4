import NIOCore

/// The pipeline end of an outbound stream: sends the hello, waits for the verdict, and relays
/// connection events to the `PeerSender` that owns the stream. Runs on the owner loop, like
/// the sender, so it calls the sender directly.
final class DialerHandler: ChannelInboundHandler {
    typealias InboundIn = PeerFrame
    typealias OutboundOut = ByteBuffer

    private let sender: PeerSender
    private let generation: UInt64
    private var established = false
    private var timeout: Scheduled<Void>?

    init(sender: PeerSender, generation: UInt64) {
        self.sender = sender
        self.generation = generation
    }

    func channelActive(context: ChannelHandlerContext) {
        let hello = PeerFrame.hello(sender.hello).encoded(allocator: context.channel.allocator)
        context.writeAndFlush(Self.wrapOutboundOut(hello), promise: nil)
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: sender.handshakeTimeout) { [self] in
            sender.connectionError(generation, PeerProtocolError.handshakeTimeout)
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        guard !established, case let .helloReply(reply) = frame else {
            fail(context: context, PeerProtocolError.unexpectedFrame("acceptor sent a frame after its hello reply"))
            return
        }
        timeout?.cancel()
        timeout = nil
        if let rejection = reply.rejection(dialerClusterID: sender.hello.clusterID, dialedMember: sender.peerID) {
            sender.handshakeRejected(generation, rejection: rejection)
            context.close(promise: nil)
        } else {
            established = true
            sender.handshakeAccepted(generation, channel: context.channel)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if established { sender.writabilityChanged(generation) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        sender.connectionClosed(generation)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        sender.connectionError(generation, error)
        context.close(promise: nil)
    }
}
