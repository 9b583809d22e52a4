import Raft

/// Something the server should tell its Raft node about, or may want to log or observe.
public enum PeerEvent: Sendable, Hashable {
    /// An outbound stream to the peer completed its handshake; messages flow again.
    case active(NodeID)
    /// Messages to the peer were dropped (queue full, peer down, unknown peer) or its
    /// connection was lost. Feed to `RaftNode.reportUnreachable`.
    case unreachable(NodeID)
    /// A `MsgSnap` was fully handed to the socket (`failed: false`), or could not be sent.
    /// Feed to `RaftNode.reportSnapshot`.
    case snapshotSent(NodeID, failed: Bool)
    /// The peer refused our handshake; we back off and try again.
    case rejected(NodeID, PeerRejection)
}
