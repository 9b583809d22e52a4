import Logging
import MVCC
import Raft

/// One etcd member. It owns the Raft node and the replicated state machine
/// and is the only place either changes: a write is proposed to Raft,
/// persisted, committed, and applied here in log order; the proposer is
/// resumed with the result of applying its own entry.
public actor EtcdServer {
    public nonisolated let config: ServerConfig
    public nonisolated let memberID: UInt64
    public nonisolated let clusterID: UInt64
    let logger: Logger

    var raft: RaftNode
    let raftStorage: MemoryStorage
    let persistence: any RaftPersistence
    var stateMachine = StateMachine()
    var members: [Member]

    /// Proposers waiting for their entry to be applied, by request ID.
    var proposals: [UInt64: PendingProposal] = [:]
    /// Encoded commands accepted since the last hand-over to Raft: proposed
    /// together, so one append message per follower carries them all.
    var queuedProposals: [(requestID: UInt64, data: [UInt8])] = []
    /// Linearizable reads waiting for a read index, then for it to be applied.
    var reads = PendingReads()
    var readyScheduled = false
    /// A Ready pass is running (possibly waiting on the disk).
    var readyInFlight = false
    /// Carries each Ready's disk work off the actor.
    let diskWriter: DiskWriter
    /// Carries Raft messages to the other members (nil when alone).
    let transport: PeerTransport?
    var started = false
    /// What etcd's metrics derive from events (EtcdServer+Metrics).
    var metricsState = MetricsState()

    /// Watchers of every gRPC Watch stream, fed after each applied write.
    var watchHub: WatchHub
    /// Wakes the sender of a watch stream when its queue gains responses.
    var watchSignals: [WatchStreamID: AsyncStream<Void>.Continuation] = [:]
    /// Chooses request and lease IDs (etcd's scheme: member bits + time + counter).
    var idGenerator: IDGenerator
    /// Set once this member applied its own removal; it then stops.
    var removedFromCluster = false
    /// Whether this member's attribute publish is being proposed.
    var publishInFlight = false
    /// The on-disk MVCC state (nil for an in-memory member).
    let backend: MVCCBackend?
    /// Entries up to this index were applied before a restart and are in
    /// the backend already; replaying the WAL skips their commands.
    var skipAppliedThrough: UInt64 = 0
    /// Index of the newest snapshot taken or installed (0: none yet).
    var snapshotIndex: UInt64 = 0
    /// Simple tokens issued by applied `authenticate` entries (member-local).
    var tokens: SimpleTokenStore
    /// Callers of physical compactions, answered once the old versions are
    /// dropped from memory and the backend (see `continueCompaction`).
    var physicalCompactionWaiters: [CheckedContinuation<Void, Never>] = []

    /// The etcd API version this server speaks and reports in Status.
    public static let apiVersion = "3.4.23"
    /// The cluster version etcd 3.4 members agree on (`/version`'s
    /// `etcdcluster`, the `cluster` bucket of a snapshot).
    public static let clusterVersion = "3.4.0"

    /// A member that keeps everything in memory (tests; nothing survives).
    public init(config: ServerConfig, logger: Logger) {
        let members = config.initialMembers()
        let memberID = members.first(where: { $0.name == config.name })?.id ?? 0
        self.init(
            config: config, logger: logger, persistence: InMemoryPersistence(),
            storage: MemoryStorage(bootstrapVoters: members.map(\.id)), memberID: memberID,
            clusterID: ClusterIdentity.clusterID(memberIDs: members.map(\.id)), members: members)
    }

    /// A member whose Raft log lives in `config.dataDir`: created with the
    /// bootstrap log on first start, recovered on every later one.
    public static func open(config: ServerConfig, logger: Logger) async throws -> EtcdServer {
        let members = config.initialMembers()
        let memberID = members.first(where: { $0.name == config.name })?.id ?? 0
        let peerTLS = try makePeerTLS(config: config, members: members)
        var clusterID = ClusterIdentity.clusterID(memberIDs: members.map(\.id))
        var voters = members.map(\.id)
        let joining =
            config.initialClusterState == .existing
            && !DiskPersistence.exists(dataDir: config.dataDir)
        if joining {
            // A member added at runtime: the cluster's ID comes from its
            // members, and the log (membership included) from the leader.
            clusterID = try await discoverClusterID(members: members, memberID: memberID, tls: peerTLS, logger: logger)
            voters = []
        }
        let identity = DiskPersistence.Identity(memberID: memberID, clusterID: clusterID)
        let recovered = try DiskPersistence.open(dataDir: config.dataDir, newIdentity: identity, voters: voters)
        if recovered.restarted, config.initialClusterState == .new, memberID != 0,
            recovered.identity.memberID != memberID
        {
            // etcd would quietly run as whatever member the directory holds;
            // a directory copied from another member or cluster is almost
            // always a mistake, so say so.
            throw DataDirectoryMismatch(
                dataDir: config.dataDir, stored: recovered.identity, flagsMemberID: memberID, name: config.name)
        }
        if recovered.restarted {
            logger.info(
                "restarting member from its data directory",
                metadata: [
                    "data-dir": "\(config.dataDir)", "local-member-id": "\(hex(recovered.identity.memberID))",
                    "last-index": "\(recovered.storage.lastIndex())",
                    "commit-index": "\(recovered.storage.hardState.commit)",
                ])
        }
        let backend = try MVCCBackend(path: MVCCBackend.path(dataDir: config.dataDir))
        let snapshotIndex = recovered.snapshot?.metadata.index ?? 0
        var restored: RestoredState?
        if let loaded = try backend.load(), loaded.consistentIndex >= snapshotIndex {
            // etcd's order: the backend is the state; the WAL after the
            // snapshot is replayed, skipping what the backend already holds.
            restored = RestoredState(
                stateMachine: StateMachine(store: loaded.store, alarms: loaded.alarms, auth: loaded.auth),
                members: loaded.members.isEmpty ? members : loaded.members, index: snapshotIndex,
                appliedIndex: loaded.consistentIndex)
            logger.info(
                "recovered the store from the backend",
                metadata: [
                    "consistent-index": "\(loaded.consistentIndex)",
                    "current-revision": "\(loaded.store.currentRevision)", "keys": "\(loaded.store.keyCount)",
                ])
        } else if let snapshot = recovered.snapshot {
            // The backend is older than the snapshot (a crash while a
            // leader's snapshot was being installed): start from the snapshot
            // and make the backend match it.
            let state = try RestoredState(snapshot: snapshot, memberID: recovered.identity.memberID, config: config)
            try backend.replaceAll(
                store: state.stateMachine.store, members: state.members, alarms: state.stateMachine.alarms,
                auth: state.stateMachine.auth, appliedIndex: snapshot.metadata.index)
            logger.info(
                "recovered the store from a snapshot",
                metadata: [
                    "snapshot-index": "\(snapshot.metadata.index)",
                    "current-revision": "\(state.stateMachine.store.currentRevision)",
                ])
            restored = state
        }
        return EtcdServer(
            config: config, logger: logger, persistence: recovered.persistence, storage: recovered.storage,
            memberID: recovered.identity.memberID, clusterID: recovered.identity.clusterID,
            members: restored?.members ?? members, restored: restored, backend: backend, peerTLS: peerTLS)
    }

    /// Asks the other members of `--initial-cluster` for the cluster ID.
    private static func discoverClusterID(
        members: [Member], memberID: UInt64, tls: PeerTLS?, logger: Logger
    ) async throws -> UInt64 {
        var reasons: [String] = []
        for (peerID, address) in peerAddresses(of: members, except: memberID).sorted(by: { $0.key < $1.key }) {
            do {
                let id = try await ClusterIDDiscovery.fetch(from: address, localID: memberID, peerID: peerID, tls: tls)
                logger.info(
                    "joining existing cluster", metadata: ["cluster-id": "\(hex(id))", "asked": "\(address)"])
                return id
            } catch {
                reasons.append("\(address): \(error)")
            }
        }
        throw JoinError(
            description: "cannot reach any member of --initial-cluster to join the existing cluster ("
                + reasons.joined(separator: "; ")
                + "); add this member with `etcdctl member add` and make sure the others are running")
    }

    init(
        config: ServerConfig, logger: Logger, persistence: any RaftPersistence, storage: MemoryStorage,
        memberID: UInt64, clusterID: UInt64, members: [Member], restored: RestoredState? = nil,
        backend: MVCCBackend? = nil, peerTLS: PeerTLS? = nil
    ) {
        self.config = config
        self.logger = logger
        self.persistence = persistence
        self.diskWriter = DiskWriter(persistence: persistence)
        self.members = members
        self.backend = backend
        if let restored {
            self.stateMachine = restored.stateMachine
            self.snapshotIndex = restored.index
            self.skipAppliedThrough = restored.appliedIndex
        }
        // Committed values leave memory and are read back from the backend.
        if let backend { self.stateMachine.store.persist(in: backend) }
        self.memberID = memberID
        self.clusterID = clusterID
        self.tokens = SimpleTokenStore(ttl: config.authTokenTTL)
        self.watchHub = WatchHub(currentRevision: restored?.stateMachine.store.currentRevision ?? 1)
        self.idGenerator = IDGenerator(memberID: memberID, startMillis: WallClock.millisecondsSinceEpoch())
        self.raftStorage = storage
        var raftConfig = RaftConfig(id: memberID, randomSeed: memberID ^ UInt64(WallClock.millisecondsSinceEpoch()))
        raftConfig.electionTick = max(2, config.electionTimeoutMs / max(1, config.heartbeatIntervalMs))
        raftConfig.heartbeatTick = 1
        self.raft = RaftNode(config: raftConfig, storage: storage)
        self.transport = Self.makeTransport(
            config: config, memberID: memberID, clusterID: clusterID, members: members, logger: logger, tls: peerTLS)
        logger.info(
            "starting member",
            metadata: [
                "local-member-id": "\(hex(memberID))", "cluster-id": "\(hex(clusterID))",
                "heartbeat": "\(config.heartbeatIntervalMs)ms", "election": "\(config.electionTimeoutMs)ms",
            ])
    }

    // MARK: Reads

    public func range(_ request: RangeRequest) async throws(EtcdError) -> (RangeResponse, ResponseHeader) {
        try RequestValidation.check(request)
        if !request.serializable { try await linearizableReadBarrier() }
        try await authorizeRead(key: request.key, rangeEnd: request.rangeEnd)
        do {
            let response = try stateMachine.store.range(request)
            return (response, header(revision: response.revision))
        } catch {
            throw EtcdError(error)
        }
    }

    // MARK: Writes

    public func put(_ request: PutRequest) async throws(EtcdError) -> (PutResponse, ResponseHeader) {
        try RequestValidation.check(request)
        guard case .put(let response) = try await propose(.put(request)) else { throw .stopped }
        return (response, header(revision: response.revision))
    }

    public func deleteRange(_ request: DeleteRangeRequest) async throws(EtcdError) -> (DeleteRangeResponse, ResponseHeader) {
        try RequestValidation.check(request)
        guard case .deleteRange(let response) = try await propose(.deleteRange(request)) else { throw .stopped }
        return (response, header(revision: response.revision))
    }

    public func txn(_ request: TxnRequest) async throws(EtcdError) -> (TxnResponse, ResponseHeader) {
        try RequestValidation.check(request, maxTxnOps: config.maxTxnOps)
        try RequestValidation.checkOverlaps(request)
        if request.isReadOnly {
            // etcd serves read-only transactions without a log entry.
            // Applied to the live store: it writes nothing, so no revision,
            // no events, and no copy of the store.
            try await linearizableReadBarrier()
            let caller = try await caller()
            guard case .txn(let response) = stateMachine.apply(.txn(request), by: caller).0 else { throw .stopped }
            return (response, header(revision: response.revision))
        }
        guard case .txn(let response) = try await propose(.txn(request)) else { throw .stopped }
        return (response, header(revision: response.revision))
    }

    public func compact(_ request: CompactionRequest) async throws(EtcdError) -> ResponseHeader {
        // Answer compacted/future at once, as etcd checks before proposing.
        if request.revision > stateMachine.store.currentRevision { throw .futureRevision }
        if request.revision <= stateMachine.store.compactedRevision { throw .compacted }
        guard case .compact(let revision) = try await propose(.compact(request)) else { throw .stopped }
        // etcd answers a physical compaction once its old versions are gone
        // from this member's backend, not only once it is in the log.
        if request.physical { await waitForCompactionToFinish() }
        logger.info("compacted", metadata: ["compact-revision": "\(request.revision)"])
        return header(revision: revision)
    }

    // MARK: Cluster and status

    public func memberList() -> ([Member], ResponseHeader) {
        (members.sorted { $0.id < $1.id }, header(revision: stateMachine.store.currentRevision))
    }

    public struct Status: Sendable {
        public var header: ResponseHeader
        public var version: String
        public var dbSize: Int64
        public var leader: UInt64
        public var raftIndex: UInt64
        public var raftTerm: UInt64
        public var raftAppliedIndex: UInt64
        public var dbSizeInUse: Int64
        public var isLearner: Bool
        /// What etcd lists in Status: "no leader" while none is known,
        /// then the raised alarms.
        public var errors: [String]
    }

    public func status() -> Status {
        let size = backend?.sizeInBytes ?? stateMachine.store.sizeEstimate
        let inUse = backend?.sizeInUse ?? size
        // Clients (etcdctl endpoint status -w json, health checkers) read a
        // member without a leader from here, as etcd 3.4 reports it.
        let noLeader = raft.lead == .none ? [EtcdError.noLeader.message] : []
        return Status(
            header: header(revision: stateMachine.store.currentRevision), version: Self.apiVersion,
            dbSize: size, leader: raft.lead, raftIndex: raft.committedIndex, raftTerm: raft.term,
            raftAppliedIndex: raft.appliedIndex, dbSizeInUse: inUse,
            isLearner: members.first { $0.id == memberID }?.isLearner ?? false,
            errors: noLeader + stateMachine.alarms.map(\.text))
    }

    // MARK: Helpers

    /// The header for an answer that reads nothing: the current revision.
    public func currentHeader() -> ResponseHeader {
        header(revision: stateMachine.store.currentRevision)
    }

    func header(revision: Int64) -> ResponseHeader {
        ResponseHeader(clusterID: clusterID, memberID: memberID, revision: revision, raftTerm: raft.term)
    }
}

func hex(_ id: UInt64) -> String { String(id, radix: 16) }

extension EtcdError {
    /// The store's failures as etcd reports them.
    init(_ error: MVCCError) {
        switch error {
        case .compacted: self = .compacted
        case .futureRevision: self = .futureRevision
        case .keyNotFound: self = .keyNotFound
        case .leaseNotFound: self = .leaseNotFound
        case .leaseExists: self = .leaseExists
        case .leaseTTLTooLarge: self = .leaseTTLTooLarge
        }
    }
}

extension TxnRequest {
    /// Whether every op (recursively) only reads.
    var isReadOnly: Bool {
        (success + failure).allSatisfy { op in
            switch op {
            case .range: true
            case .put, .deleteRange: false
            case .txn(let t): t.isReadOnly
            }
        }
    }
}

/// Why a member started with `--initial-cluster-state existing` could not join.
public struct JoinError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The data directory belongs to another member (or cluster) than the flags
/// describe.
public struct DataDirectoryMismatch: Error, Sendable, CustomStringConvertible {
    var dataDir: String
    var stored: DiskPersistence.Identity
    var flagsMemberID: UInt64
    var name: String

    public var description: String {
        "data directory \(dataDir) belongs to member \(hex(stored.memberID)) of cluster \(hex(stored.clusterID)), "
            + "but --name \(name) with these --initial-cluster/--initial-cluster-token flags is member \(hex(flagsMemberID)); "
            + "start this member with its own data directory, or with an empty one to bootstrap anew "
            + "(a member whose peer URLs were changed with `etcdctl member update` restarts with --initial-cluster-state existing)"
    }
}
