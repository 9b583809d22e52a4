/// A Raft consensus participant as a pure, deterministic value.
///
/// `RaftNode` performs no I/O and reads no clock: time advances by `tick()`, network input
/// arrives through `step(_:)`, client requests through `propose(_:)` and friends, and all
/// output is collected into a `Ready` that the caller executes and acknowledges with
/// `advance(_:)` (see `Ready` for the exact contract). Its only shared component is the
/// caller-owned `LogStorage`, which it only reads.
public struct RaftNode: Sendable {
    public let id: NodeID
    public internal(set) var term: UInt64 = 0
    /// The candidate this node voted for in `term`, or `.none`.
    public internal(set) var vote: NodeID = .none
    /// The leader of `term` as far as this node knows, or `.none`.
    public internal(set) var lead: NodeID = .none
    public internal(set) var role: RaftRole = .follower

    let config: RaftConfig
    var log: RaftLog
    var tracker: ProgressTracker

    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0
    var rng: SplitMix64

    /// The voter the leader is handing leadership to, or `.none`.
    var leadTransferee: NodeID = .none
    /// Index of the latest conf change the leader appended; a new one is refused until the
    /// caller has applied past it (one single-server change at a time).
    var pendingConfIndex: UInt64 = 0

    /// A `timeoutNow` arrived while committed conf changes were still unapplied; campaign as
    /// soon as `advance` reports them applied (typical when a removed leader hands over: its
    /// final commit index and the `timeoutNow` arrive together).
    var campaignAfterApplying = false

    /// Payload bytes the leader appended but has not yet seen applied (for
    /// `maxUncommittedEntriesSize`).
    var uncommittedSize: UInt64 = 0

    var readOnly = ReadOnlyQueue()
    /// ReadIndex requests that arrived before the leader committed an entry of its term; the
    /// commit index is not yet known to be current, so they wait.
    var pendingReadIndexMessages: [Message] = []

    // Output accumulated for the next `Ready`.
    var messages: [Message] = []
    var readStates: [ReadState] = []
    var previousSoftState: SoftState
    var previousHardState: HardState

    /// Starts (or restarts) a node from whatever `storage` holds. The membership comes from
    /// the snapshot's `ConfState` plus the conf changes the caller re-applies from the log (a
    /// new cluster's storage holds the `Bootstrap` entries); a node joining an existing cluster
    /// starts empty and learns everything from the leader.
    public init(config: RaftConfig, storage: any LogStorage) {
        precondition(config.id != .none, "RaftConfig.id must not be 0")
        precondition(config.heartbeatTick > 0, "heartbeatTick must be positive")
        precondition(config.electionTick > config.heartbeatTick, "electionTick must exceed heartbeatTick")
        id = config.id
        self.config = config
        rng = SplitMix64(seed: config.randomSeed)
        log = RaftLog(storage: storage, maxCommittedBytesPerReady: config.maxCommittedSizePerReady)
        let inflightBytes = config.maxInflightBytes
        tracker = ProgressTracker(maxInflight: config.maxInflightMsgs, maxInflightBytes: inflightBytes)
        let (hardState, confState) = storage.initialState()
        tracker.reset(to: confState, nextIndex: log.lastIndex + 1)
        if !hardState.isEmpty {
            precondition(hardState.commit <= log.lastIndex,
                         "persisted commit \(hardState.commit) beyond last index \(log.lastIndex)")
            // A snapshot proves its entries committed even if the hard state written with it
            // was lost in a crash, so never go below it.
            log.committed = max(hardState.commit, log.committed)
            term = hardState.term
            vote = hardState.vote
        }
        if config.applied > log.applied { log.applied(to: config.applied) }
        previousSoftState = SoftState(lead: .none, role: .follower)
        previousHardState = hardState
        becomeFollower(term: term, lead: .none)
    }

    // MARK: Observation

    /// The current leader and role (volatile; reported in `Ready.softState` when it changes).
    public var softState: SoftState { SoftState(lead: lead, role: role) }

    /// The current term, vote and commit (reported in `Ready.hardState` when it changes).
    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }

    public var committedIndex: UInt64 { log.committed }
    public var appliedIndex: UInt64 { log.applied }
    public var lastIndex: UInt64 { log.lastIndex }
    public var firstIndex: UInt64 { log.firstIndex }

    /// The term of the entry at `index` in this node's log (persisted or not), or nil if it is
    /// compacted or beyond the end.
    public func entryTerm(at index: UInt64) -> UInt64? {
        guard index <= log.lastIndex, let t = try? log.term(at: index) else { return nil }
        return t
    }

    /// This node's log entries from `index` on (persisted or not); empty if compacted.
    public func entries(from index: UInt64) -> [Entry] {
        (try? log.entries(from: index, maxBytes: .max)) ?? []
    }

    /// The membership this node currently uses (as applied via `applyConfChange`).
    public var confState: ConfState { tracker.confState }

    /// Everything a monitor wants to know; the leader also reports per-peer progress.
    public var status: RaftStatus {
        var progress: [NodeID: PeerProgress] = [:]
        if role == .leader {
            for (peer, p) in tracker.progress {
                progress[peer] = PeerProgress(
                    match: p.match, next: p.next, state: p.state, isLearner: p.isLearner,
                    recentActive: p.recentActive)
            }
        }
        return RaftStatus(
            id: id, term: term, vote: vote, commit: log.committed, lead: lead, role: role,
            applied: log.applied, lastIndex: log.lastIndex, progress: progress,
            leadTransferee: leadTransferee, confState: tracker.confState)
    }

    /// Whether this node may campaign: only voters can become leader.
    var isPromotable: Bool { tracker.isVoter(id) }

    // MARK: Inputs

    /// Advances logical time by one tick: drives election timeouts and leader heartbeats.
    public mutating func tick() {
        if role == .leader {
            tickLeader()
        } else {
            tickElection()
        }
    }

    /// Starts an election now instead of waiting for the timeout (with PreVote first, if on).
    public mutating func campaign() {
        try? handle(Message(type: .hup, from: id))
    }

    /// Proposes `data` for the log. On a follower the proposal is forwarded to the leader;
    /// success only means it was accepted for replication, not that it will commit.
    public mutating func propose(_ data: [UInt8]) throws(RaftError) {
        try handle(Message(type: .prop, from: id, entries: [Entry(term: 0, index: 0, data: data)]))
    }

    /// Proposes several entries at once, in order: one append per follower
    /// carries them all. Either all are accepted or none (see `propose(_:)`).
    public mutating func propose(batch: [[UInt8]]) throws(RaftError) {
        guard !batch.isEmpty else { return }
        try handle(Message(type: .prop, from: id, entries: batch.map { Entry(term: 0, index: 0, data: $0) }))
    }

    /// Proposes a membership change. It takes effect once committed and applied by the caller
    /// through `applyConfChange(_:)`. Throws `.confChangePending` on a leader that still has
    /// an unapplied change.
    public mutating func proposeConfChange(_ change: ConfChange) throws(RaftError) {
        let entry = Entry(term: 0, index: 0, type: .confChange, data: change.encoded())
        try handle(Message(type: .prop, from: id, entries: [entry]))
    }

    /// Requests a linearizable read. When confirmed, a `ReadState` carrying `context` appears
    /// in a later `Ready`; the caller serves the read once it has applied up to its index.
    public mutating func readIndex(context: [UInt8]) throws(RaftError) {
        try handle(Message(type: .readIndex, from: id, context: context))
    }

    /// Asks the leader to hand leadership to `transferee` (forwarded if this is a follower).
    public mutating func transferLeader(to transferee: NodeID) {
        try? handle(Message(type: .transferLeader, from: transferee))
    }

    /// Feeds a message received from a peer. Errors are informational (a dropped proposal,
    /// a malformed message); the node's state stays consistent either way.
    public mutating func step(_ message: Message) throws(RaftError) {
        guard !message.type.isLocal else { throw .localMessageFromNetwork }
        guard message.isWellFormed else { throw .malformedMessage }
        try handle(message)
    }

    /// Reports that `peer` could not be reached, so the leader stops pipelining to it.
    public mutating func reportUnreachable(_ peer: NodeID) {
        try? handle(Message(type: .unreachable, from: peer))
    }

    /// Reports the outcome of sending a snapshot to `peer`. After a failure the leader retries
    /// after a heartbeat; after success it resumes appending past the snapshot.
    public mutating func reportSnapshot(to peer: NodeID, failed: Bool) {
        try? handle(Message(type: .snapStatus, from: peer, reject: failed))
    }

    // MARK: Output

    /// Whether `ready()` would return any work.
    public var hasReady: Bool {
        !messages.isEmpty || !readStates.isEmpty || !log.unstable.entries.isEmpty
            || log.unstable.snapshot != nil || softState != previousSoftState
            || (hardState != previousHardState && !hardState.isEmpty)
            || log.hasCommittedEntries(after: log.applied)
    }

    /// Collects the pending work. Messages and read states are handed over (not repeated);
    /// entries, snapshot and hard state are repeated until `advance` acknowledges them.
    public mutating func ready() -> Ready {
        var ready = Ready()
        ready.entries = log.unstable.entries
        ready.snapshot = log.unstable.snapshot
        ready.committedEntries = log.nextCommittedEntries(after: log.applied)
        let soft = softState
        if soft != previousSoftState {
            ready.softState = soft
            previousSoftState = soft
        }
        let hard = hardState
        if hard != previousHardState {
            ready.hardState = hard
        }
        ready.mustSync = !ready.entries.isEmpty || hard.term != previousHardState.term
            || hard.vote != previousHardState.vote
        ready.messages = messages
        messages = []
        ready.readStates = readStates
        readStates = []
        return ready
    }

    /// The messages queued since the last `ready()`, for a leader to send
    /// while that `Ready` is still being persisted: a leader's appends and
    /// heartbeats never depend on its own unpersisted state (Raft thesis
    /// 10.2.1), so its heartbeats need not wait for a slow disk. Empty for
    /// followers and candidates, whose acknowledgements and votes promise
    /// durable state and must wait for the next `ready()`.
    public mutating func takeLeaderMessages() -> [Message] {
        guard role == .leader, !messages.isEmpty else { return [] }
        defer { messages = [] }
        return messages
    }

    /// Acknowledges that `ready` was carried out: its entries, hard state and snapshot are
    /// durable and its committed entries applied.
    public mutating func advance(_ ready: Ready) {
        if let hard = ready.hardState { previousHardState = hard }
        if role == .leader { reduceUncommittedSize(by: ready.committedEntries) }
        if let last = ready.committedEntries.last {
            log.applied(to: last.index)
        } else if let snapshot = ready.snapshot {
            log.applied(to: snapshot.metadata.index)
        }
        if let last = ready.entries.last {
            log.unstable.stableTo(index: last.index, term: last.term)
        }
        if let snapshot = ready.snapshot {
            log.unstable.stableSnapshotTo(index: snapshot.metadata.index)
        }
        if campaignAfterApplying && !hasUnappliedConfChanges() {
            campaignAfterApplying = false
            hup(transfer: true)
        }
        if role == .leader {
            // The leader's own log counts towards commit only once it is durable.
            let persisted = log.persistedLastIndex
            if tracker.progress[id]?.maybeUpdate(persisted) == true, maybeCommit() {
                didAdvanceCommit()
            }
        }
    }

    // MARK: Sending

    /// Queues `message` for the next `Ready`, stamping sender and term. Vote traffic carries
    /// an explicit term; forwarded proposals and reads carry none (they are local requests).
    mutating func send(_ message: Message) {
        var m = message
        if m.from == .none { m.from = id }
        switch m.type {
        case .vote, .preVote, .voteResp, .preVoteResp:
            assert(m.term != 0, "\(m.type) must carry a term")
        case .prop, .readIndex:
            m.term = 0
        default:
            m.term = term
        }
        messages.append(m)
    }
}
