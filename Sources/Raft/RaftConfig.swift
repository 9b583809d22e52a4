/// Parameters of one Raft node. Defaults follow etcd.
public struct RaftConfig: Sendable {
    /// This node's ID; must not be 0.
    public var id: NodeID
    /// Ticks a follower waits without hearing from a leader before campaigning. The actual
    /// timeout is randomized in `electionTick ..< 2 * electionTick` to avoid split votes.
    public var electionTick: Int = 10
    /// Ticks between leader heartbeats; must be smaller than `electionTick`.
    public var heartbeatTick: Int = 1
    /// The state machine's applied index at restart, so already-applied entries are not
    /// handed out again. 0 means "since the last snapshot".
    public var applied: UInt64 = 0
    /// Max bytes of entries per append message (at least one entry is always sent).
    public var maxSizePerMsg: UInt64 = 1 << 20
    /// Max bytes of committed entries per `Ready`.
    public var maxCommittedSizePerReady: UInt64 = 1 << 20
    /// Max unacknowledged append messages per follower while replicating.
    public var maxInflightMsgs: Int = 512
    /// Max unacknowledged bytes per follower; 0 means no byte limit.
    public var maxInflightBytes: UInt64 = 0
    /// Max total payload bytes of uncommitted entries on a leader; further proposals fail
    /// with `RaftError.proposalDropped` until some commit (backpressure when a quorum is slow
    /// or gone). One proposal is always accepted when nothing is pending. 0 means no limit.
    public var maxUncommittedEntriesSize: UInt64 = 0
    /// A leader that has not heard from a quorum within an election timeout steps down, and
    /// followers ignore vote requests while they believe a leader is alive (leader lease).
    public var checkQuorum: Bool = true
    /// Candidates first run a pre-election that does not bump terms, so a node rejoining from
    /// a partition cannot depose a healthy leader (thesis §9.6).
    public var preVote: Bool = true
    /// Seed of the generator that randomizes election timeouts.
    public var randomSeed: UInt64

    public init(id: NodeID, randomSeed: UInt64? = nil) {
        self.id = id
        self.randomSeed = randomSeed ?? id
    }
}
