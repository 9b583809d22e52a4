/// A read-only copy of a follower's progress, reported by `RaftNode.status`.
public struct PeerProgress: Sendable, Hashable {
    public var match: UInt64
    public var next: UInt64
    public var state: ProgressState
    public var isLearner: Bool
    public var recentActive: Bool
}
