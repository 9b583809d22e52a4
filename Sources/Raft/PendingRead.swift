/// A ReadIndex request waiting for a heartbeat quorum to confirm the leader is still leader.
struct PendingRead: Sendable {
    /// The leader's commit index when the request arrived; the read is served at this index.
    var index: UInt64
    var context: [UInt8]
    /// Who asked: this node (answered through `Ready.readStates`) or a follower (answered
    /// with `readIndexResp`).
    var requester: NodeID
    var acks: Set<NodeID>
}
