/// How the leader is currently replicating to one follower.
public enum ProgressState: String, Sendable, Hashable {
    /// The leader does not know where the follower's log matches; it sends one append per
    /// heartbeat interval until one is accepted.
    case probe
    /// The follower is in sync; the leader pipelines appends up to the in-flight limit.
    case replicate
    /// The follower needs a snapshot; appends pause until it reports back.
    case snapshot
}
