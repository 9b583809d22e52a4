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

/// One Raft message. Which fields matter depends on `type`, mirroring etcd's raftpb.Message.
public struct Message: Sendable, Hashable {
    public var type: MessageType
    public var to: NodeID
    public var from: NodeID
    /// The sender's term; 0 for local messages and for forwarded proposals/reads.
    public var term: UInt64
    /// `app`: term of the entry at `index`. Reject responses: term of the hinted entry.
    /// Votes: the candidate's last log term.
    public var logTerm: UInt64
    /// `app`: index preceding `entries`. `appResp`: last index accepted (or rejected).
    /// Votes: the candidate's last log index. `readIndexResp`: the read index.
    public var index: UInt64
    public var entries: [Entry]
    /// The sender's commit index (`app`, `heartbeat`).
    public var commit: UInt64
    public var snapshot: Snapshot?
    /// `appResp`/vote responses: the request was refused. `snapStatus`: the snapshot failed.
    public var reject: Bool
    /// On a rejected `appResp`: the follower's guess at the last index that might match, so the
    /// leader can skip a whole conflicting term per round trip instead of one entry.
    public var rejectHint: UInt64
    /// Opaque request context: the ReadIndex request ID, or `campaignTransfer` on votes caused
    /// by a leadership transfer.
    public var context: [UInt8]

    public init(
        type: MessageType, to: NodeID = .none, from: NodeID = .none, term: UInt64 = 0,
        logTerm: UInt64 = 0, index: UInt64 = 0, entries: [Entry] = [], commit: UInt64 = 0,
        snapshot: Snapshot? = nil, reject: Bool = false, rejectHint: UInt64 = 0, context: [UInt8] = []
    ) {
        self.type = type
        self.to = to
        self.from = from
        self.term = term
        self.logTerm = logTerm
        self.index = index
        self.entries = entries
        self.commit = commit
        self.snapshot = snapshot
        self.reject = reject
        self.rejectHint = rejectHint
        self.context = context
    }
}

extension Message {
    /// Context marking votes caused by `timeoutNow`; such votes ignore the voter's leader lease.
    static let campaignTransferContext: [UInt8] = Array("CampaignTransfer".utf8)
}
