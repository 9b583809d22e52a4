import Logging
import NIOCore
import Raft

/// Carries Raft messages between cluster members over TCP.
///
/// Each member dials one outbound stream to every peer and accepts inbound streams from any
/// member that passes the handshake (same cluster ID, addressed to this member). A stream
/// carries messages one way, dialer to acceptor, as length-prefixed frames; see `PeerFrame`.
///
/// Threading: a final class whose mutable state (`TransportCore`, every `PeerSender`, every
/// outbound channel) is confined to one event loop of the injected group, the *owner loop*.
/// The public methods only hand work to that loop, so `send` never blocks or suspends its
/// caller; `Sendable` holds because the class itself has only immutable, `Sendable` fields.
/// Inbound connections run on any loop of the group and feed `incoming` directly.
///
/// Ordering: messages to one peer are written in `send` order, and `incoming` yields each
/// peer's messages in the order they were written, with one exception: a `MsgSnap` travels in
/// a separate lane (chunked when large), so messages sent after it may overtake it. That is
/// the point: heartbeats keep flowing during a long snapshot transfer. Raft tolerates the
/// reordering (and etcd's own transport sends snapshots on a separate connection too).
public final class PeerTransport: Sendable {
    public let localID: NodeID
    public let clusterID: UInt64
    /// Messages from any peer addressed to this member, each peer's in order. Single consumer.
    public let incoming: AsyncStream<Message>
    /// Reachability and snapshot outcomes for the server to feed back into Raft.
    public let events: AsyncStream<PeerEvent>

    private let core: NIOLoopBoundBox<TransportCore>
    private let logger: Logger
    private let maxFrameSize: Int
    private let allocator = ByteBufferAllocator()

    /// `eventLoopGroup` must outlive the transport: call `stop()` before shutting it down.
    /// `tls` serves `https` addresses (`PeerAddress.usesTLS`), the listener's and the peers'.
    public init(
        localID: NodeID, clusterID: UInt64, listenAddress: PeerAddress, peers: [NodeID: PeerAddress],
        logger: Logger, eventLoopGroup: any EventLoopGroup, options: PeerTransportOptions = PeerTransportOptions(),
        tls: PeerTLS? = nil
    ) {
        self.localID = localID
        self.clusterID = clusterID
        var logger = logger
        logger[metadataKey: "local-member-id"] = "\(localID.hexID)"
        self.logger = logger
        self.maxFrameSize = options.maxFrameSize
        let (incoming, incomingContinuation) = AsyncStream.makeStream(
            of: Message.self, bufferingPolicy: .bufferingOldest(max(1, options.incomingBufferLimit)))
        // Events are few (unreachable reports are rate-limited) and snapshot outcomes must not
        // be lost, so this buffer is unbounded.
        let (events, eventsContinuation) = AsyncStream.makeStream(of: PeerEvent.self)
        self.incoming = incoming
        self.events = events
        let env = TransportEnvironment(
            localID: localID, clusterID: clusterID, options: options, tls: tls, logger: logger,
            ownerLoop: eventLoopGroup.next(), group: eventLoopGroup,
            incoming: incomingContinuation, events: eventsContinuation)
        self.core = NIOLoopBoundBox.makeBoxSendingValue(
            TransportCore(env: env, listenAddress: listenAddress, peers: peers), eventLoop: env.ownerLoop)
    }

    /// Binds the peer listener and starts dialing peers. Returns the bound address (useful
    /// with port 0). Throws `PeerTransportError.addressInUse` if the port is taken.
    @discardableResult
    public func start() async throws -> PeerAddress {
        let core = core
        return try await core.eventLoop.flatSubmit { core.value.start() }.get()
    }

    /// Closes the listener and every connection, reports queued snapshots as failed, then
    /// finishes `incoming` and `events`. Idempotent.
    public func stop() async {
        let core = core
        try? await core.eventLoop.flatSubmit { core.value.stop() }.get()
    }

    /// Queues messages for their peers and returns at once. Messages that cannot be queued
    /// (peer down, queue full, unknown peer) are dropped and reported as `.unreachable`;
    /// Raft retransmits what matters. Each `MsgSnap` is reported as `.snapshotSent`.
    public func send(_ messages: [Message]) {
        var batch: [OutboundItem] = []
        batch.reserveCapacity(messages.count)
        for message in messages {
            guard message.to != localID, message.to != .none, !message.type.isLocal else {
                logger.debug("not sending message", metadata: ["type": "\(message.type)", "to": "\(message.to.hexID)"])
                continue
            }
            // Encoding here, on the caller's thread, keeps the owner loop free for I/O.
            let encoding = message.encoded()
            if message.type == .snap {
                batch.append(.snapshot(to: message.to, encoding: allocator.buffer(bytes: encoding)))
            } else if encoding.count + 1 > maxFrameSize {
                logger.error(
                    "dropped message larger than the maximum frame size",
                    metadata: ["type": "\(message.type)", "remote-peer-id": "\(message.to.hexID)", "bytes": "\(encoding.count)"])
            } else {
                var frame = allocator.buffer(capacity: PeerFrame.headerSize + encoding.count)
                frame.writeInteger(UInt32(encoding.count + 1))
                frame.writeInteger(PeerFrame.Kind.message.rawValue)
                frame.writeBytes(encoding)
                batch.append(.message(to: message.to, frame: frame))
            }
        }
        guard !batch.isEmpty else { return }
        let core = core
        core.eventLoop.execute { [batch] in core.value.send(batch) }
    }

    /// Replaces the peer set (membership change). The local ID is ignored if present.
    public func setPeers(_ peers: [NodeID: PeerAddress]) {
        let core = core
        core.eventLoop.execute { core.value.setPeers(peers) }
    }
}
