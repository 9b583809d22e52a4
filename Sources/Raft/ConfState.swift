/// The cluster membership as of some log position: who votes, who only learns.
public struct ConfState: Sendable, Hashable {
    /// Nodes whose acknowledgement counts towards quorum (elections and commit).
    public var voters: [NodeID]
    /// Nodes that receive the log but never vote and never count towards quorum.
    public var learners: [NodeID]

    public init(voters: [NodeID] = [], learners: [NodeID] = []) {
        self.voters = voters.sorted()
        self.learners = learners.sorted()
    }

    public var isEmpty: Bool { voters.isEmpty && learners.isEmpty }
}
