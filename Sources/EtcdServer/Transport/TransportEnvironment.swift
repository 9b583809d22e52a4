import Logging
import NIOCore
import Raft

/// What every part of one transport shares: identity, limits, where to log and report, and
/// the event loop that owns all outbound state. Immutable, so any thread may hold a copy.
struct TransportEnvironment: Sendable {
    let localID: NodeID
    let clusterID: UInt64
    let options: PeerTransportOptions
    /// TLS contexts for `https` addresses; nil when the member has none.
    let tls: PeerTLS?
    /// Carries `local-member-id`; each component adds its own peer metadata.
    let logger: Logger
    /// Runs the transport's bookkeeping and every outbound connection.
    let ownerLoop: any EventLoop
    /// Runs inbound connections.
    let group: any EventLoopGroup
    let incoming: AsyncStream<Message>.Continuation
    let events: AsyncStream<PeerEvent>.Continuation
    let allocator = ByteBufferAllocator()

    func logger(peer: NodeID, direction: String) -> Logger {
        var logger = logger
        logger[metadataKey: "remote-peer-id"] = "\(peer.hexID)"
        logger[metadataKey: "stream-direction"] = "\(direction)"
        return logger
    }
}
