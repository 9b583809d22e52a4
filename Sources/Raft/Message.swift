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
