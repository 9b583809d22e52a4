/// Errors returned to the caller of `RaftNode`'s input methods.
public enum RaftError: Error, Sendable, Hashable {
    /// A proposal arrived while no leader is known (an election is in progress or the node is
    /// partitioned). The server reports this as `etcdserver: no leader`; the client may retry.
    case noLeader
    /// The proposal was refused for another reason: a leadership transfer is in progress, or this
    /// node is no longer a member of the cluster.
    case proposalDropped
    /// A membership change was proposed while an earlier one is still unapplied; Raft allows only
    /// one single-server change at a time.
    case confChangePending
    /// A local-only message type (such as `hup` or `beat`) was handed to `step` as if it came
    /// from the network.
    case localMessageFromNetwork
    /// A peer's message was internally inconsistent (e.g. non-consecutive entries, absurd
    /// indices) and was ignored.
    case malformedMessage
}
