import Logging
import NIOCore
import Raft

/// The pipeline end of an inbound stream: checks the dialer's hello, answers it, then turns
/// frames into messages for the server, in the order they arrived. A message is delivered
/// only if it is addressed to this member, comes from the member that shook hands, and is not
/// of a local-only type.
///
/// Runs on whichever loop of the group accepted the connection; it touches no shared state
/// except the (thread-safe) stream continuation, and tells the transport about the connection
/// by hopping to the owner loop.
final class AcceptorHandler: ChannelInboundHandler {
    typealias InboundIn = PeerFrame
    typealias OutboundOut = ByteBuffer

    private let env: TransportEnvironment
    private let registry: InboundRegistry
    private var logger: Logger
    /// Set once the hello is accepted.
    private var peerID: NodeID?
    private var assembler: SnapshotAssembler
    private var timeout: Scheduled<Void>?
    private var misaddressed = 0
    /// Set when the handler gave up on the connection; frames still in flight are ignored.
    private var failed = false
    private var overflowed = 0

    init(env: TransportEnvironment, registry: InboundRegistry) {
        self.env = env
        self.registry = registry
        self.logger = env.logger
        self.logger[metadataKey: "stream-direction"] = "inbound"
        self.assembler = SnapshotAssembler(maxSnapshotSize: env.options.maxSnapshotSize)
    }

    func channelActive(context: ChannelHandlerContext) {
        if let remote = context.channel.remoteAddress, let ip = remote.ipAddress, let port = remote.port {
            logger[metadataKey: "remote-address"] = "\(PeerAddress(host: ip, port: port))"
        }
        registry.opened(context.channel)
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: env.options.handshakeTimeout) { [self] in
            fail(context: context, PeerProtocolError.handshakeTimeout)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = Self.unwrapInboundIn(data)
        guard let peerID else {
            guard case let .hello(hello) = frame else {
                fail(context: context, PeerProtocolError.unexpectedFrame("expected a hello first"))
                return
            }
            answer(hello, context: context)
            return
        }
        do {
            switch frame {
            case let .message(bytes):
                try deliver(Array(bytes.readableBytesView), from: peerID)
            case let .snapshotChunk(chunk):
                if let encoding = try assembler.add(chunk) {
                    try deliver(encoding, from: peerID, mustBeSnapshot: true)
                }
            case .hello, .helloReply:
                throw PeerProtocolError.unexpectedFrame("handshake frame after the handshake")
            }
        } catch {
            fail(context: context, error)
        }
    }

    private func answer(_ hello: PeerHello, context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        let reply = PeerHelloReply(answering: hello, clusterID: env.clusterID, memberID: env.localID)
        let frame = PeerFrame.helloReply(reply).encoded(allocator: context.channel.allocator)
        if let rejection = Self.acceptorView(of: reply, hello: hello) {
            if hello.clusterID == 0 {
                // A joining member asking for our cluster ID (ClusterIDDiscovery).
                logger.info("answered a cluster ID query", metadata: ["from": "\(hello.from.hexID)"])
            } else {
                logger.warning("rejected peer connection from member \(hello.from.hexID): \(rejection)")
            }
            // Close once the verdict is on the wire, so the dialer can log why.
            context.writeAndFlush(Self.wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
            return
        }
        peerID = hello.from
        logger[metadataKey: "remote-peer-id"] = "\(hello.from.hexID)"
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        logger.info("established TCP streaming connection with remote peer")
        registry.established(context.channel, peer: hello.from)
    }

    /// The refusal from the acceptor's side (`ours` = this member's values).
    private static func acceptorView(of reply: PeerHelloReply, hello: PeerHello) -> PeerRejection? {
        switch reply.status {
        case .accepted: nil
        case .clusterIDMismatch: .clusterIDMismatch(ours: reply.clusterID, theirs: hello.clusterID)
        case .memberIDMismatch: .memberIDMismatch(expected: hello.to, actual: reply.memberID)
        case .unsupportedVersion: .unsupportedVersion(ours: reply.version, theirs: hello.version)
        }
    }

    /// Decodes and hands one message to the server. Messages for another member or of a
    /// local-only type are dropped (a confused peer must not steer our node); an undecodable
    /// one means the stream is corrupt, so it throws and the connection closes.
    private func deliver(_ encoding: [UInt8], from peer: NodeID, mustBeSnapshot: Bool = false) throws {
        let message: Message
        do {
            message = try Message(decoding: encoding)
        } catch {
            throw PeerProtocolError.undecodableMessage(error)
        }
        if mustBeSnapshot && message.type != .snap {
            throw PeerProtocolError.invalidSnapshotChunk("reassembled a \(message.type) message")
        }
        // Raft stamps every message with its sender's ID; one that disagrees with the
        // handshake is from a confused (or impersonating) peer.
        guard message.to == env.localID, message.from == peer, !message.type.isLocal else {
            misaddressed += 1
            if misaddressed == 1 || misaddressed % 1000 == 0 {
                logger.warning(
                    "dropped message from remote peer: not addressed to this member by that peer",
                    metadata: [
                        "type": "\(message.type)", "to": "\(message.to.hexID)", "from": "\(message.from.hexID)",
                        "dropped": "\(misaddressed)",
                    ])
            }
            return
        }
        if case .dropped = env.incoming.yield(message) {
            overflowed += 1
            if overflowed == 1 || overflowed % 1000 == 0 {
                logger.warning("dropped incoming message: the server is not keeping up", metadata: ["dropped": "\(overflowed)"])
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        if peerID != nil {
            logger.info("lost TCP streaming connection with remote peer")
        }
        registry.closed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        guard !failed else { return }
        failed = true
        if let failure = TLSFailure(error) {
            // etcd's words for a peer whose certificate (or lack of one) the TLS layer refused.
            logger.warning("rejected connection", metadata: ["error": "\(failure)"])
        } else if error is PeerProtocolError || error is ByteToMessageDecoderError {
            logger.error("closing peer connection after protocol error", metadata: ["error": "\(error)"])
        } else {
            logger.debug("peer connection failed", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }
}
