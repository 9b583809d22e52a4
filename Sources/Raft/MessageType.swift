/// The message types exchanged between Raft nodes, plus the local-only inputs the node feeds
/// itself. The raw values are part of the wire format; never renumber them.
public enum MessageType: UInt8, Sendable, Hashable, CaseIterable {
    /// Local: start an election (the election timer fired or `campaign()` was called).
    case hup = 0
    /// Local: the leader's heartbeat timer fired.
    case beat = 1
    /// A client proposal; followers forward it to the leader.
    case prop = 2
    /// Append entries (also the probe that finds where a follower's log diverges).
    case app = 3
    case appResp = 4
    case vote = 5
    case voteResp = 6
    /// Leader sends a snapshot to a follower whose needed entries were compacted.
    case snap = 7
    case heartbeat = 8
    case heartbeatResp = 9
    /// Local: the transport could not reach a peer.
    case unreachable = 10
    /// Local: the outcome of sending a snapshot.
    case snapStatus = 11
    /// Local: the leader's periodic check that a quorum is still active.
    case checkQuorum = 12
    /// Ask the leader to hand leadership to `from`'s chosen transferee.
    case transferLeader = 13
    /// Tells the transferee to campaign immediately, bypassing PreVote and leases.
    case timeoutNow = 14
    case readIndex = 15
    case readIndexResp = 16
    case preVote = 17
    case preVoteResp = 18

    /// Types that a node generates for itself and must never accept from the network.
    public var isLocal: Bool {
        switch self {
        case .hup, .beat, .unreachable, .snapStatus, .checkQuorum: true
        default: false
        }
    }

    /// Responses are only meaningful to the node that asked.
    public var isResponse: Bool {
        switch self {
        case .appResp, .voteResp, .heartbeatResp, .unreachable, .readIndexResp, .preVoteResp: true
        default: false
        }
    }
}
