/// The store's request and response types: plain values mirroring etcd's
/// `etcdserverpb` KV messages, so that the API layer translates protobuf to
/// these and the server can log them through Raft without knowing gRPC.

/// A key range as etcd encodes it: `rangeEnd` empty means the single `key`;
/// `[0]` means every key `>= key`; otherwise the half-open `[key, rangeEnd)`.
public struct KeyRange: Sendable, Hashable {
    public var key: [UInt8]
    public var rangeEnd: [UInt8]

    public init(key: [UInt8], rangeEnd: [UInt8] = []) {
        self.key = key
        self.rangeEnd = rangeEnd
    }
}

public struct RangeRequest: Sendable, Hashable {
    public enum SortOrder: Sendable, Hashable { case none, ascend, descend }
    public enum SortTarget: Sendable, Hashable { case key, version, create, mod, value }

    public var key: [UInt8]
    public var rangeEnd: [UInt8]
    /// Maximum number of keys returned; 0 means no limit.
    public var limit: Int64
    /// Revision to read at; 0 (or less) means the current revision.
    public var revision: Int64
    public var sortOrder: SortOrder
    public var sortTarget: SortTarget
    /// Accepted for compatibility; the server decides how to serve it.
    public var serializable: Bool
    public var keysOnly: Bool
    public var countOnly: Bool
    public var minModRevision: Int64
    public var maxModRevision: Int64
    public var minCreateRevision: Int64
    public var maxCreateRevision: Int64

    public init(
        key: [UInt8], rangeEnd: [UInt8] = [], limit: Int64 = 0, revision: Int64 = 0,
        sortOrder: SortOrder = .none, sortTarget: SortTarget = .key,
        serializable: Bool = false, keysOnly: Bool = false, countOnly: Bool = false,
        minModRevision: Int64 = 0, maxModRevision: Int64 = 0,
        minCreateRevision: Int64 = 0, maxCreateRevision: Int64 = 0
    ) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.limit = limit
        self.revision = revision
        self.sortOrder = sortOrder
        self.sortTarget = sortTarget
        self.serializable = serializable
        self.keysOnly = keysOnly
        self.countOnly = countOnly
        self.minModRevision = minModRevision
        self.maxModRevision = maxModRevision
        self.minCreateRevision = minCreateRevision
        self.maxCreateRevision = maxCreateRevision
    }
}

public struct RangeResponse: Sendable, Hashable {
    public var kvs: [KeyValue]
    /// True when `limit` cut the result short.
    public var more: Bool
    /// Number of keys in the range at the requested revision (before `limit`).
    public var count: Int64
    /// The store's current revision when the read was served.
    public var revision: Int64

    public init(kvs: [KeyValue] = [], more: Bool = false, count: Int64 = 0, revision: Int64 = 0) {
        self.kvs = kvs
        self.more = more
        self.count = count
        self.revision = revision
    }
}

public struct PutRequest: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var lease: Int64
    public var prevKv: Bool
    /// Keep the current value; fails with `keyNotFound` when the key is absent.
    public var ignoreValue: Bool
    /// Keep the current lease; fails with `keyNotFound` when the key is absent.
    public var ignoreLease: Bool

    public init(
        key: [UInt8], value: [UInt8] = [], lease: Int64 = 0, prevKv: Bool = false,
        ignoreValue: Bool = false, ignoreLease: Bool = false
    ) {
        self.key = key
        self.value = value
        self.lease = lease
        self.prevKv = prevKv
        self.ignoreValue = ignoreValue
        self.ignoreLease = ignoreLease
    }
}

public struct PutResponse: Sendable, Hashable {
    public var prevKv: KeyValue?
    public var revision: Int64

    public init(prevKv: KeyValue? = nil, revision: Int64 = 0) {
        self.prevKv = prevKv
        self.revision = revision
    }
}

public struct DeleteRangeRequest: Sendable, Hashable {
    public var key: [UInt8]
    public var rangeEnd: [UInt8]
    public var prevKv: Bool

    public init(key: [UInt8], rangeEnd: [UInt8] = [], prevKv: Bool = false) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.prevKv = prevKv
    }
}

public struct DeleteRangeResponse: Sendable, Hashable {
    public var deleted: Int64
    public var prevKvs: [KeyValue]
    public var revision: Int64

    public init(deleted: Int64 = 0, prevKvs: [KeyValue] = [], revision: Int64 = 0) {
        self.deleted = deleted
        self.prevKvs = prevKvs
        self.revision = revision
    }
}

/// One guard of a transaction: compares a field of every key in the range
/// (or the single key) with a constant; the guard holds only if it holds for
/// every existing key in the range.
public struct Compare: Sendable, Hashable {
    public enum Result: Sendable, Hashable { case equal, greater, less, notEqual }
    public enum Target: Sendable, Hashable {
        case version(Int64)
        case createRevision(Int64)
        case modRevision(Int64)
        case value([UInt8])
        case lease(Int64)
    }

    public var result: Result
    public var target: Target
    public var key: [UInt8]
    public var rangeEnd: [UInt8]

    public init(key: [UInt8], rangeEnd: [UInt8] = [], target: Target, result: Result) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.target = target
        self.result = result
    }
}

public indirect enum RequestOp: Sendable, Hashable {
    case range(RangeRequest)
    case put(PutRequest)
    case deleteRange(DeleteRangeRequest)
    case txn(TxnRequest)
}

public indirect enum ResponseOp: Sendable, Hashable {
    case range(RangeResponse)
    case put(PutResponse)
    case deleteRange(DeleteRangeResponse)
    case txn(TxnResponse)
}

public struct TxnRequest: Sendable, Hashable {
    public var compare: [Compare]
    public var success: [RequestOp]
    public var failure: [RequestOp]

    public init(compare: [Compare] = [], success: [RequestOp] = [], failure: [RequestOp] = []) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }
}

public struct TxnResponse: Sendable, Hashable {
    public var succeeded: Bool
    public var responses: [ResponseOp]
    /// The store's revision after the transaction (unchanged if it wrote nothing).
    public var revision: Int64

    public init(succeeded: Bool = false, responses: [ResponseOp] = [], revision: Int64 = 0) {
        self.succeeded = succeeded
        self.responses = responses
        self.revision = revision
    }
}

public struct CompactionRequest: Sendable, Hashable {
    public var revision: Int64
    /// etcd waits for the compaction to be physically applied before answering.
    public var physical: Bool

    public init(revision: Int64, physical: Bool = false) {
        self.revision = revision
        self.physical = physical
    }
}
