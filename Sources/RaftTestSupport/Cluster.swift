import Raft

/// A whole simulated Raft cluster: nodes, their disks, the network between them and the
/// safety checker watching it all. Everything is deterministic for a given seed.
///
/// The harness follows the `Ready` contract literally: persist, then send, then apply, then
/// `advance`. `crash` discards a node's process memory, so anything it had not yet persisted
/// (and messages it had not yet sent) is lost.
public final class Cluster {
    public private(set) var nodes: [NodeID: SimNode] = [:]
    public var network: SimNetwork
    public private(set) var checker = SafetyChecker()
    // Configuration of nodes started from now on (`restartAll` applies changes to all).
    public var electionTick: Int
    public var heartbeatTick: Int
    public var checkQuorum = true
    public var preVote = true
    public var maxMessageBytes: UInt64 = 1 << 20
    public var maxInflightMsgs = 512
    public var maxUncommittedEntriesSize: UInt64 = 0
    /// Source of each started node's election-timeout seed.
    private var seedSource: SplitMix64
    /// Receives a line per event when set (for replaying a failing seed).
    public var trace: (@Sendable (String) -> Void)?

    /// Creates `size` voters with IDs `1...size`.
    public init(size: Int, seed: UInt64 = 1, electionTick: Int = 10, heartbeatTick: Int = 1,
                faults: NetworkFaults = .none, checkQuorum: Bool = true, preVote: Bool = true) {
        network = SimNetwork(seed: seed ^ 0x5eed, faults: faults)
        seedSource = SplitMix64(seed: seed)
        self.electionTick = electionTick
        self.heartbeatTick = heartbeatTick
        self.checkQuorum = checkQuorum
        self.preVote = preVote
        let voters = (1...UInt64(max(size, 1))).map { $0 }
        for id in voters {
            let storage = MemoryStorage(bootstrapVoters: voters)
            addNode(id: id, storage: storage)
        }
        // Apply the bootstrap membership, so nodes can campaign.
        for id in voters { process(id) }
    }

    /// Creates a cluster whose nodes start from the given disks (for crafted logs).
    public init(storages: [NodeID: MemoryStorage], seed: UInt64 = 1, electionTick: Int = 10, heartbeatTick: Int = 1) {
        network = SimNetwork(seed: seed ^ 0x5eed)
        seedSource = SplitMix64(seed: seed)
        self.electionTick = electionTick
        self.heartbeatTick = heartbeatTick
        for (id, storage) in storages.sorted(by: { $0.key < $1.key }) { addNode(id: id, storage: storage) }
        for id in ids { process(id) }
    }

    /// When on, every delivered message is kept in `deliveredMessages` (for assertions).
    public var recordsMessages = false
    public private(set) var deliveredMessages: [Message] = []

    /// IDs of all nodes, up or down, in ascending order.
    public var ids: [NodeID] { nodes.keys.sorted() }
    public var liveIDs: [NodeID] { ids.filter { nodes[$0]?.isUp == true } }

    public func node(_ id: NodeID) -> SimNode? { nodes[id] }
    public func raft(_ id: NodeID) -> RaftNode? { nodes[id]?.raft }

    public func config(for id: NodeID) -> RaftConfig {
        var config = RaftConfig(id: id, randomSeed: seedSource.next())
        config.electionTick = electionTick
        config.heartbeatTick = heartbeatTick
        config.checkQuorum = checkQuorum
        config.preVote = preVote
        config.maxSizePerMsg = maxMessageBytes
        config.maxInflightMsgs = maxInflightMsgs
        config.maxUncommittedEntriesSize = maxUncommittedEntriesSize
        return config
    }

    /// Adds and starts a node. Without `storage` it starts empty, as a server joining an
    /// existing cluster does (it learns the membership from the leader).
    public func addNode(id: NodeID, storage: MemoryStorage = MemoryStorage()) {
        var node = SimNode(id: id, storage: storage)
        try? node.start(config: config(for: id))
        nodes[id] = node
    }

    // MARK: Driving

    /// When on, a leader writes new entries "in the background" (Raft thesis §10.2.1): its
    /// appends go out at once, while the write and the rest of that `Ready` complete only at
    /// the node's next tick. A crash in between loses the write after the followers got it.
    public var leaderWritesInBackground = false

    /// Runs one node's pending `Ready`s to completion (bounded). With `mayHold`, a leader's
    /// write may be left in progress (see `leaderWritesInBackground`).
    public func process(_ id: NodeID, mayHold: Bool = true) {
        for _ in 0..<16 {
            guard var node = nodes[id], var raft = node.raft else { break }
            let ready: Ready
            var appendsSent = false
            if let held = node.heldReady {
                if mayHold { break }  // still writing
                ready = held
                node.heldReady = nil
                appendsSent = true
            } else {
                guard raft.hasReady else { break }
                ready = raft.ready()
                if mayHold && leaderWritesInBackground && raft.role == .leader && !ready.entries.isEmpty {
                    observeAppended(ready, node: id, raft: raft)
                    for message in ready.messages where message.type == .app { transmit(message) }
                    node.raft = raft
                    node.heldReady = ready
                    nodes[id] = node
                    break
                }
            }
            let snapshotReports = handle(ready, of: &node, raft: &raft, appendsSent: appendsSent)
            raft.advance(ready)
            for (peer, failed) in snapshotReports { raft.reportSnapshot(to: peer, failed: failed) }
            node.raft = raft
            nodes[id] = node
            checker.observe(node: id, raft: raft)
        }
        startPendingJoins()
    }

    private func observeAppended(_ ready: Ready, node id: NodeID, raft: RaftNode) {
        guard let first = ready.entries.first?.index else { return }
        let previous = first > 1 ? raft.entryTerm(at: first - 1) : 0
        checker.observeAppended(node: id, entries: ready.entries, previousTerm: previous)
    }

    /// Carries out one `Ready`; returns the outcome of each snapshot sent, for the transport
    /// to report back to Raft.
    private func handle(_ ready: Ready, of node: inout SimNode, raft: inout RaftNode, appendsSent: Bool) -> [(NodeID, Bool)] {
        let id = node.id
        if let trace {
            trace("ready \(id): \(raft.role) t\(raft.term) lead \(raft.lead) commit \(raft.committedIndex) entries \(ready.entries.map { "\($0.index)/\($0.term)\($0.type == .confChange ? "cc" : "")" }) hs \(ready.hardState.map { "\($0)" } ?? "-") applying \(ready.committedEntries.first?.index ?? 0)...\(ready.committedEntries.last?.index ?? 0)")
        }
        if !appendsSent { observeAppended(ready, node: id, raft: raft) }
        // 1. Persist.
        if let snapshot = ready.snapshot { node.storage.applySnapshot(snapshot) }
        node.storage.append(ready.entries)
        if let hard = ready.hardState { node.storage.setHardState(hard) }
        // 2. Send.
        var snapshotReports: [(NodeID, Bool)] = []
        for original in ready.messages where !(appendsSent && original.type == .app) {
            var message = original
            if message.type == .snap { message.snapshot = currentSnapshot(of: node, raft: raft) ?? message.snapshot }
            let delivered = transmit(message)
            if message.type == .snap { snapshotReports.append((message.to, !delivered)) }
        }
        // 3. Apply.
        if let snapshot = ready.snapshot {
            node.stateMachine = (try? ListStateMachine(snapshotData: snapshot.data)) ?? ListStateMachine()
            node.appliedIndex = snapshot.metadata.index
            node.confState = snapshot.metadata.confState
        }
        for entry in ready.committedEntries {
            checker.observeApplied(node: id, entry: entry)
            node.appliedIndex = entry.index
            switch entry.type {
            case .normal:
                node.stateMachine.apply(entry.data)
            case .confChange:
                if let change = try? ConfChange(decoding: entry.data) {
                    node.confState = raft.applyConfChange(change)
                    if change.type != .removeNode && nodes[change.nodeID] == nil && change.nodeID != id {
                        pendingJoins.insert(change.nodeID)
                    }
                }
            }
        }
        for read in ready.readStates { checker.observeReadConfirmed(node: id, read: read) }
        node.readStates.append(contentsOf: ready.readStates)
        return snapshotReports
    }

    /// A snapshot of the node's state machine as applied right now, which (unlike the one in
    /// storage) reflects the latest membership, so a newly added node finds itself in it. This
    /// is what etcd's server sends too (its "merged snapshot").
    private func currentSnapshot(of node: SimNode, raft: RaftNode) -> Snapshot? {
        guard let term = raft.entryTerm(at: node.appliedIndex), node.appliedIndex > 0 else { return nil }
        let meta = SnapshotMetadata(index: node.appliedIndex, term: term, confState: node.confState)
        return Snapshot(data: node.stateMachine.snapshotData, metadata: meta)
    }

    /// Nodes that a conf change added but that do not exist yet; started after processing.
    private var pendingJoins: Set<NodeID> = []

    /// Hands a message to the network; returns whether it was accepted for delivery to a
    /// running node (what a real transport would know).
    @discardableResult
    private func transmit(_ message: Message) -> Bool {
        network.send(message) && nodes[message.to]?.isUp == true
    }

    /// Delivers every message due this round, then lets receivers process.
    public func deliverRound() {
        for message in network.deliverDue() {
            guard var raft = nodes[message.to]?.raft else { continue }
            if recordsMessages { deliveredMessages.append(message) }
            trace?("deliver \(message.type) \(message.from)->\(message.to) t\(message.term) i\(message.index) lt\(message.logTerm) c\(message.commit) n\(message.entries.count)\(message.reject ? " reject hint \(message.rejectHint)" : "")\(message.snapshot.map { " snap \($0.metadata.index)/\($0.metadata.term) \($0.metadata.confState)" } ?? "")")
            try? raft.step(message)
            nodes[message.to]?.raft = raft
        }
        for id in liveIDs { process(id) }
    }

    private func startPendingJoins() {
        guard !pendingJoins.isEmpty else { return }
        for id in pendingJoins.sorted() where nodes[id] == nil { addNode(id: id) }
        pendingJoins = []
    }

    /// Ticks every live node once and processes the results.
    public func tickAll() {
        for id in liveIDs { tick(id) }
    }

    public func tick(_ id: NodeID, times: Int = 1) {
        guard var raft = nodes[id]?.raft else { return }
        for _ in 0..<max(times, 0) { raft.tick() }
        nodes[id]?.raft = raft
        process(id, mayHold: false)
    }

    /// Processes and delivers until no message is in flight and no node has work (bounded).
    /// Returns false if the bound was hit.
    @discardableResult
    public func stabilize(maxRounds: Int = 1000) -> Bool {
        for _ in 0..<maxRounds {
            for id in liveIDs { process(id, mayHold: false) }
            if network.inFlightCount == 0 && liveIDs.allSatisfy({ nodes[$0]?.raft?.hasReady != true }) {
                return true
            }
            deliverRound()
        }
        return false
    }

    /// Runs `rounds` rounds of: tick everyone, deliver what is due.
    public func run(rounds: Int) {
        for _ in 0..<rounds {
            tickAll()
            deliverRound()
        }
    }

    // MARK: Client operations

    /// Changes node `id`'s `RaftNode` directly, without processing its `Ready` afterwards
    /// (so the output stays unpersisted until `process` runs).
    public func mutate<E: Error>(_ id: NodeID, _ body: (inout RaftNode) throws(E) -> Void) throws(E) {
        guard var raft = nodes[id]?.raft else { return }
        defer { nodes[id]?.raft = raft }
        try body(&raft)
    }

    public func campaign(_ id: NodeID) {
        guard var raft = nodes[id]?.raft else { return }
        raft.campaign()
        nodes[id]?.raft = raft
        process(id)
    }

    public func propose(_ id: NodeID, _ data: [UInt8]) throws(RaftError) {
        guard var raft = nodes[id]?.raft else { throw .proposalDropped }
        defer {
            nodes[id]?.raft = raft
            process(id)
        }
        try raft.propose(data)
    }

    public func proposeConfChange(_ id: NodeID, _ change: ConfChange) throws(RaftError) {
        guard var raft = nodes[id]?.raft else { throw .proposalDropped }
        defer {
            nodes[id]?.raft = raft
            process(id)
        }
        try raft.proposeConfChange(change)
    }

    public func readIndex(_ id: NodeID, context: [UInt8]) throws(RaftError) {
        guard var raft = nodes[id]?.raft else { throw .proposalDropped }
        checker.observeReadRequested(context: context)
        defer {
            nodes[id]?.raft = raft
            process(id)
        }
        try raft.readIndex(context: context)
    }

    public func transferLeader(_ id: NodeID, to transferee: NodeID) {
        guard var raft = nodes[id]?.raft else { return }
        raft.transferLeader(to: transferee)
        nodes[id]?.raft = raft
        process(id)
    }

    /// Snapshots node `id`'s state machine at its applied index and compacts its log there,
    /// keeping `keep` entries before it for slightly lagging followers.
    public func compact(_ id: NodeID, keep: UInt64 = 0) {
        guard let node = nodes[id], node.isUp, node.appliedIndex > keep else { return }
        let index = node.appliedIndex
        node.storage.createSnapshot(index: index, confState: node.confState, data: node.stateMachine.snapshotData)
        node.storage.compact(through: index - keep)
    }

    // MARK: Faults

    /// Kills node `id`: it loses everything not persisted, including unsent messages.
    public func crash(_ id: NodeID) {
        guard nodes[id]?.isUp == true else { return }
        trace?("crash \(id)")
        nodes[id]?.crash()
        checker.observeCrash(node: id)
    }

    /// Crashes `id` in the middle of handling a `Ready`: a leader has already sent its appends
    /// (allowed before its own fsync) but nothing was persisted.
    public func crashBeforePersisting(_ id: NodeID) {
        guard var raft = nodes[id]?.raft else { return }
        let ready = raft.ready()
        if raft.role == .leader {
            for message in ready.messages where message.type == .app { transmit(message) }
        }
        crash(id)
    }

    /// Restarts a crashed node from its storage.
    public func restart(_ id: NodeID) {
        guard var node = nodes[id], !node.isUp else { return }
        trace?("restart \(id)")
        try? node.start(config: config(for: id))
        nodes[id] = node
        process(id)
    }

    /// Crashes and restarts every node, e.g. to pick up changed configuration knobs.
    public func restartAll() {
        for id in ids {
            crash(id)
            restart(id)
        }
    }

    public func partition(_ groups: [[NodeID]]) { network.partition(groups) }
    public func isolate(_ id: NodeID) { network.isolate(id, from: ids) }
    public func heal() { network.heal() }

    // MARK: Queries

    /// The leader that every live node in `among` agrees on, if there is one.
    public func agreedLeader(among: [NodeID]? = nil) -> NodeID? {
        let group = (among ?? liveIDs).compactMap { nodes[$0]?.raft }
        guard let lead = group.first?.lead, lead != .none,
              group.allSatisfy({ $0.lead == lead }),
              nodes[lead]?.raft?.role == .leader else { return nil }
        return lead
    }

    /// One line per node: role, term, leader, commit, applied (for failure messages).
    public var summary: String {
        ids.map { id -> String in
            guard let node = nodes[id], let raft = node.raft else { return "\(id) down" }
            return "\(id) \(raft.role) t\(raft.term) lead \(raft.lead) commit \(raft.committedIndex) applied \(node.appliedIndex)"
        }.joined(separator: "; ")
    }

    /// The live nodes that currently believe they are leader.
    public var leaders: [NodeID] { liveIDs.filter { nodes[$0]?.raft?.role == .leader } }
}
