/// The kinds of single-server membership change (Raft thesis §4.1).
public enum ConfChangeType: UInt8, Sendable, Hashable, CaseIterable {
    /// Add a voter, or promote an existing learner to voter.
    case addNode = 0
    /// Remove a voter or a learner.
    case removeNode = 1
    /// Add a non-voting learner (or demote a voter to learner).
    case addLearnerNode = 2
}
