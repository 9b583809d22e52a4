import Logging
import MVCC

/// One etcd member. It owns the store and is the only place that changes it:
/// every write goes through `apply`, in order, which is where Raft's commit
/// order will slot in (a write is then proposed, committed, and applied here).
public actor EtcdServer {
    public nonisolated let config: ServerConfig
    public nonisolated let memberID: UInt64
    public nonisolated let clusterID: UInt64
    let logger: Logger
    var store = KVStore()
    var members: [Member]
    /// Watchers of every gRPC Watch stream, fed after each write.
    var watchHub: WatchHub
    /// Wakes the sender of a watch stream when its queue gains responses.
    var watchSignals: [WatchStreamID: AsyncStream<Void>.Continuation] = [:]
    /// Chooses IDs for leases granted without one (etcd's request ID scheme).
    var idGenerator: IDGenerator
    /// Raft term the answers were served in. A lone in-memory member never
    /// holds an election, so it stays at the bootstrap term.
    var raftTerm: UInt64 = 1

    /// The etcd API version this server speaks and reports in Status.
    public static let apiVersion = "3.4.23"

    public init(config: ServerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        let members = config.initialMembers()
        self.members = members
        self.memberID = members.first(where: { $0.name == config.name })?.id ?? 0
        self.clusterID = ClusterIdentity.clusterID(memberIDs: members.map(\.id))
        self.watchHub = WatchHub(currentRevision: 1)
        self.idGenerator = IDGenerator(memberID: memberID, now: .now)
        logger.info(
            "starting member",
            metadata: [
                "local-member-id": "\(String(memberID, radix: 16))",
                "cluster-id": "\(String(clusterID, radix: 16))",
            ])
    }

    // MARK: Reads

    public func range(_ request: RangeRequest) throws(EtcdError) -> (RangeResponse, ResponseHeader) {
        try RequestValidation.check(request)
        do {
            let response = try store.range(request)
            return (response, header(revision: response.revision))
        } catch {
            throw EtcdError(error)
        }
    }

    // MARK: Writes

    public func put(_ request: PutRequest) throws(EtcdError) -> (PutResponse, ResponseHeader) {
        try RequestValidation.check(request)
        try checkSize(request.key.count + request.value.count)
        do {
            let (response, events) = try store.put(request)
            publish(events)
            return (response, header(revision: response.revision))
        } catch {
            throw EtcdError(error)
        }
    }

    public func deleteRange(_ request: DeleteRangeRequest) throws(EtcdError) -> (DeleteRangeResponse, ResponseHeader) {
        try RequestValidation.check(request)
        try checkSize(request.key.count + request.rangeEnd.count)
        let (response, events) = store.deleteRange(request)
        publish(events)
        return (response, header(revision: response.revision))
    }

    public func txn(_ request: TxnRequest) throws(EtcdError) -> (TxnResponse, ResponseHeader) {
        try RequestValidation.check(request, maxTxnOps: config.maxTxnOps)
        try RequestValidation.checkOverlaps(request)
        try checkSize(request.approximateSize)
        do {
            let (response, events) = try store.txn(request)
            publish(events)
            return (response, header(revision: response.revision))
        } catch {
            throw EtcdError(error)
        }
    }

    public func compact(_ request: CompactionRequest) throws(EtcdError) -> ResponseHeader {
        do {
            try store.compact(request.revision)
            logger.info("compacted", metadata: ["compact-revision": "\(request.revision)"])
            return header(revision: store.currentRevision)
        } catch {
            throw EtcdError(error)
        }
    }

    // MARK: Cluster and status

    public func memberList() -> ([Member], ResponseHeader) {
        (members.sorted { $0.id < $1.id }, header(revision: store.currentRevision))
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
    }

    public func status() -> Status {
        // Without Raft each write is one applied entry after bootstrap.
        let index = UInt64(max(store.currentRevision, 1))
        return Status(
            header: header(revision: store.currentRevision), version: Self.apiVersion,
            dbSize: 0, leader: memberID, raftIndex: index, raftTerm: raftTerm,
            raftAppliedIndex: index, dbSizeInUse: 0, isLearner: false)
    }

    // MARK: Helpers

    func header(revision: Int64) -> ResponseHeader {
        ResponseHeader(clusterID: clusterID, memberID: memberID, revision: revision, raftTerm: raftTerm)
    }

    /// etcd refuses a write whose Raft entry would exceed `--max-request-bytes`.
    private func checkSize(_ bytes: Int) throws(EtcdError) {
        if bytes > config.maxRequestBytes { throw .requestTooLarge }
    }
}

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
    /// Bytes of keys and values the transaction carries: what dominates the
    /// size of its Raft entry.
    var approximateSize: Int {
        var total = 0
        for c in compare {
            total += c.key.count + c.rangeEnd.count
            if case .value(let v) = c.target { total += v.count }
        }
        for op in success + failure {
            switch op {
            case .range(let r): total += r.key.count + r.rangeEnd.count
            case .put(let p): total += p.key.count + p.value.count
            case .deleteRange(let d): total += d.key.count + d.rangeEnd.count
            case .txn(let t): total += t.approximateSize
            }
        }
        return total
    }
}
