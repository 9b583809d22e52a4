/// A snapshot of a node's state for monitoring: the server reports leader, raftTerm and
/// raftIndex from it.
public struct RaftStatus: Sendable, Hashable {
    public var id: NodeID
    public var term: UInt64
    public var vote: NodeID
    public var commit: UInt64
    public var lead: NodeID
    public var role: RaftRole
    public var applied: UInt64
    public var lastIndex: UInt64
    /// Per-peer replication progress; only filled on the leader.
    public var progress: [NodeID: PeerProgress]
    public var leadTransferee: NodeID
    public var confState: ConfState
}
