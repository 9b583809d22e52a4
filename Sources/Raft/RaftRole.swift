/// A node's role in the current term.
public enum RaftRole: String, Sendable, Hashable {
    case follower
    /// Running a pre-election (PreVote): asking whether it could win before bumping the term.
    case preCandidate
    case candidate
    case leader
}
