import Logging
import NIOPosix
import Raft

/// Talking to the other members: Raft messages out through the peer
/// transport, messages and transport events in.
extension EtcdServer {
    /// The transport to the other members. A member alone has one too (as
    /// etcd listens on its peer URLs), so that members can be added.
    static func makeTransport(
        config: ServerConfig, memberID: UInt64, clusterID: UInt64, members: [Member], logger: Logger,
        tls: PeerTLS? = nil
    ) -> PeerTransport? {
        guard let listen = config.listenPeerURLs.first else { return nil }
        return PeerTransport(
            localID: memberID, clusterID: clusterID,
            listenAddress: PeerAddress(
                host: listen.host == "localhost" ? "127.0.0.1" : listen.host, port: listen.port,
                usesTLS: listen.scheme == "https"),
            peers: peerAddresses(of: members, except: memberID), logger: logger,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, tls: tls)
    }

    /// The peer TLS contexts, when this member has a peer certificate or any
    /// peer URL it knows is `https` (then it dials without a certificate of
    /// its own, and the other side decides whether that is enough).
    static func makePeerTLS(config: ServerConfig, members: [Member]) throws -> PeerTLS? {
        let httpsKnown =
            config.listenPeerURLs.contains { $0.scheme == "https" }
            || members.contains { $0.peerURLs.contains { $0.hasPrefix("https://") } }
        guard !config.peerTLS.isEmpty || httpsKnown else { return nil }
        return try PeerTLS(info: config.peerTLS, cipherSuites: CipherSuites.parse(config.cipherSuites))
    }

    /// Where to reach each member but `local`.
    static func peerAddresses(of members: [Member], except local: UInt64) -> [NodeID: PeerAddress] {
        var peers: [NodeID: PeerAddress] = [:]
        for member in members where member.id != local {
            guard let url = member.peerURLs.first, case .success(let parsed) = EndpointURL.parse(url) else { continue }
            peers[member.id] = PeerAddress(
                host: parsed.host == "localhost" ? "127.0.0.1" : parsed.host, port: parsed.port,
                usesTLS: parsed.scheme == "https")
        }
        return peers
    }

    /// Binds the peer listener (a port in use is an error for the caller).
    func startPeers() async throws {
        guard let transport else { return }
        try await transport.start()
        logger.info("listening for peers", metadata: ["address": "\(config.listenPeerURLs.first.map(\.description) ?? "")"])
    }

    /// Consumes what peers send, until cancelled.
    func consumePeers() async {
        guard let transport else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.consume(transport.incoming) }
            group.addTask {
                for await event in transport.events { await self.peerEvent(event) }
            }
        }
    }

    /// Steps peer messages on the actor itself: messages that arrived
    /// together are stepped in one actor turn (and share one Ready pass),
    /// with no hop on and off the actor for each.
    private func consume(_ messages: AsyncStream<Message>) async {
        for await message in messages { receive(message) }
    }

    func receive(_ message: Message) {
        recordReceived(message)
        do {
            try raft.step(message)
        } catch {
            logger.debug("ignored peer message", metadata: ["from": "\(hex(message.from))", "error": "\(error)"])
        }
        // What the message queued goes out in the scheduled pass, or, while
        // a pass waits on the disk, from the scheduled task at once: either
        // way once for every message that arrived meanwhile.
        scheduleReady()
    }

    func peerEvent(_ event: PeerEvent) {
        switch event {
        case .unreachable(let peer): raft.reportUnreachable(peer)
        case .snapshotSent(let peer, let failed): raft.reportSnapshot(to: peer, failed: failed)
        case .active, .rejected: break
        }
        scheduleReady()
    }
}
