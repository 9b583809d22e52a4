import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Raft

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A message already encoded by the caller of `send`, on its way to a peer's queue.
enum OutboundItem: Sendable {
    /// A complete frame, ready to write.
    case message(to: NodeID, frame: ByteBuffer)
    /// A `MsgSnap` encoding, framed (and maybe chunked) by its peer's sender.
    case snapshot(to: NodeID, encoding: ByteBuffer)

    var to: NodeID {
        switch self {
        case let .message(to, _), let .snapshot(to, _): to
        }
    }
}

/// The transport's mutable state: the listener, one `PeerSender` per peer, the inbound
/// connections. Confined to the owner loop; `PeerTransport` reaches it only through tasks
/// submitted there.
final class TransportCore {
    private enum Phase { case initial, starting, started, stopped }

    private let env: TransportEnvironment
    private let listenAddress: PeerAddress
    private var phase = Phase.initial
    private var listener: (any Channel)?
    private var senders: [NodeID: PeerSender] = [:]
    private let inbound: NIOLoopBoundBox<InboundConnections>
    private var unknownPeerReports: [NodeID: NIODeadline] = [:]

    init(env: TransportEnvironment, listenAddress: PeerAddress, peers: [NodeID: PeerAddress]) {
        self.env = env
        self.listenAddress = listenAddress
        self.inbound = NIOLoopBoundBox.makeBoxSendingValue(InboundConnections(), eventLoop: env.ownerLoop)
        for (id, address) in peers where id != env.localID && id != .none {
            senders[id] = PeerSender(peerID: id, address: address, env: env)
        }
    }

    // MARK: Lifecycle

    func start() -> EventLoopFuture<PeerAddress> {
        guard phase == .initial else {
            return env.ownerLoop.makeFailedFuture(
                phase == .stopped ? PeerTransportError.stopped : PeerTransportError.alreadyStarted)
        }
        let env = env
        let requested = listenAddress
        let tls = requested.usesTLS ? env.tls?.server : nil
        if requested.usesTLS && tls == nil {
            return env.ownerLoop.makeFailedFuture(
                PeerTransportError.bindFailed(requested, reason: "KeyFile and CertFile are not presented"))
        }
        phase = .starting
        let registry = InboundRegistry(box: inbound)
        return ServerBootstrap(group: env.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            // Lets the kernel eventually notice a peer host that vanished without a FIN.
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // TLS first: the frames travel inside it. A handshake that fails (no
                    // certificate, one from another CA) reaches AcceptorHandler.errorCaught.
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(PeerFrameDecoder(maxFrameSize: env.options.maxFrameSize)),
                        AcceptorHandler(env: env, registry: registry))
                }
            }
            .bind(host: requested.host, port: requested.port)
            .flatMapErrorThrowing { error in throw Self.bindError(error, address: requested) }
            .hop(to: env.ownerLoop)
            .assumeIsolated()
            .flatMapThrowing { [self] channel in
                guard phase == .starting else {
                    channel.close(promise: nil)
                    throw PeerTransportError.stopped
                }
                phase = .started
                listener = channel
                let bound = PeerAddress(
                    host: requested.host, port: channel.localAddress?.port ?? requested.port, usesTLS: requested.usesTLS)
                env.logger.info("listening for peers", metadata: ["address": "\(bound)", "tls": "\(requested.usesTLS)"])
                for sender in senders.values { sender.start() }
                return bound
            }
            .flatMapErrorThrowing { [self] error in
                if phase == .starting { phase = .initial }
                throw error
            }
            .nonisolated()
    }

    private static func bindError(_ error: any Error, address: PeerAddress) -> any Error {
        if let ioError = error as? IOError, ioError.errnoCode == EADDRINUSE {
            return PeerTransportError.addressInUse(address)
        }
        return PeerTransportError.bindFailed(address, reason: "\(error)")
    }

    func stop() -> EventLoopFuture<Void> {
        guard phase != .stopped else { return env.ownerLoop.makeSucceededVoidFuture() }
        phase = .stopped
        var closing: [EventLoopFuture<Void>] = []
        if let listener {
            let promise = env.ownerLoop.makePromise(of: Void.self)
            listener.close(promise: promise)
            closing.append(promise.futureResult.recover { _ in })
        }
        listener = nil
        for sender in senders.values { closing.append(sender.stop()) }
        senders = [:]
        closing.append(inbound.value.closeAll(on: env.ownerLoop))
        let env = env
        return EventLoopFuture.andAllComplete(closing, on: env.ownerLoop).always { _ in
            env.logger.info("stopped peer transport")
            env.incoming.finish()
            env.events.finish()
        }
    }

    // MARK: Traffic

    func send(_ batch: [OutboundItem]) {
        guard phase != .stopped else { return }
        var touched: [ObjectIdentifier: PeerSender] = [:]
        for item in batch {
            guard let sender = senders[item.to] else {
                reportUnknownPeer(item)
                continue
            }
            switch item {
            case let .message(_, frame): sender.enqueue(message: frame)
            case let .snapshot(_, encoding): sender.enqueue(snapshot: encoding)
            }
            touched[ObjectIdentifier(sender)] = sender
        }
        for sender in touched.values { sender.drain() }
    }

    private func reportUnknownPeer(_ item: OutboundItem) {
        let peer = item.to
        if case .snapshot = item { env.events.yield(.snapshotSent(peer, failed: true)) }
        let now = NIODeadline.now()
        if let last = unknownPeerReports[peer], now - last < env.options.unreachableReportInterval { return }
        unknownPeerReports[peer] = now
        env.logger.warning("dropped message to unknown remote peer", metadata: ["remote-peer-id": "\(peer.hexID)"])
        env.events.yield(.unreachable(peer))
    }

    // MARK: Membership

    /// Adds streams for new members, closes those of removed ones, and redials members whose
    /// address changed. Unchanged members keep their connection and queue.
    func setPeers(_ peers: [NodeID: PeerAddress]) {
        guard phase != .stopped else { return }
        let wanted = peers.filter { $0.key != env.localID && $0.key != .none }
        for (id, sender) in senders where wanted[id] != sender.address {
            env.logger.info(
                wanted[id] == nil ? "removed remote peer" : "remote peer address changed",
                metadata: ["remote-peer-id": "\(id.hexID)"])
            _ = sender.stop()
            senders[id] = nil
        }
        for (id, address) in wanted where senders[id] == nil {
            env.logger.info("added remote peer", metadata: ["remote-peer-id": "\(id.hexID)", "remote-address": "\(address)"])
            let sender = PeerSender(peerID: id, address: address, env: env)
            senders[id] = sender
            unknownPeerReports[id] = nil
            if phase == .started { sender.start() }
        }
    }
}
