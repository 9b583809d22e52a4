import Raft

/// One simulated server: a `RaftNode`, its durable storage and its applied state machine.
///
/// `storage` models the disk: it survives `crash()`. The `RaftNode` (including entries it
/// produced but the harness had not yet persisted) and the state machine are process memory,
/// rebuilt from storage by `restart`.
public struct SimNode: Sendable {
    public let id: NodeID
    public let storage: MemoryStorage
    public var raft: RaftNode?
    public var stateMachine = ListStateMachine()
    public var appliedIndex: UInt64 = 0
    public var confState = ConfState()
    /// Reads confirmed by Raft, in order.
    public var readStates: [ReadState] = []
    public var restarts = 0
    /// A leader's `Ready` whose appends were sent but whose write has not completed yet.
    var heldReady: Ready?

    public var isUp: Bool { raft != nil }

    init(id: NodeID, storage: MemoryStorage) {
        self.id = id
        self.storage = storage
    }

    /// Starts the node from what its storage holds.
    mutating func start(config: RaftConfig) throws(BinaryDecodingError) {
        let snapshot = (try? storage.snapshot()) ?? .empty
        stateMachine = try ListStateMachine(snapshotData: snapshot.data)
        appliedIndex = snapshot.metadata.index
        confState = storage.initialState().confState
        readStates = []
        var config = config
        config.applied = snapshot.metadata.index
        raft = RaftNode(config: config, storage: storage)
    }

    mutating func crash() {
        raft = nil
        heldReady = nil
        readStates = []
        restarts += 1
    }
}
