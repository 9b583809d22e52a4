/// The part of a node's state that must be durable before the messages that depend on it are sent.
///
/// `term` and `vote` protect Election Safety across restarts: a node that forgot its vote could
/// vote twice in one term. `commit` is persisted so a restarted node knows how far it may apply.
public struct HardState: Sendable, Hashable {
    public var term: UInt64
    public var vote: NodeID
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: NodeID = .none, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }

    public static let empty = HardState()

    public var isEmpty: Bool { self == .empty }
}
