import MVCC
import Raft

/// A state-machine change as it travels through the Raft log: what etcd
/// calls an `InternalRaftRequest`. Every member applies the same commands in
/// the same order, so every member's store is the same.
public enum Command: Sendable, Hashable {
    case put(PutRequest)
    case deleteRange(DeleteRangeRequest)
    case txn(TxnRequest)
    case compact(CompactionRequest)
    case leaseGrant(id: Int64, ttl: Int64)
    case leaseRevoke(id: Int64)
    /// A member announces its name and client URLs (etcd's attribute
    /// publish), so every member lists them.
    case publish(memberID: UInt64, name: String, clientURLs: [String])
    /// A member's peer URLs change (etcd's `ConfChangeUpdateNode`, which
    /// changes no Raft membership, so an ordinary entry suffices).
    case memberUpdate(memberID: UInt64, peerURLs: [String])
    /// Raise (`activate`) or disarm an alarm (etcd's `AlarmRequest`).
    case alarm(activate: Bool, memberID: UInt64, type: AlarmType)
    /// A change to users, roles or the auth switch (`Auth/AuthCommand.swift`).
    case auth(AuthCommand)
}

/// A command with the ID the proposer waits on. Only the member that
/// proposed it has a waiter; the others just apply.
public struct CommandEnvelope: Sendable, Hashable {
    public var requestID: UInt64
    public var command: Command
    /// Who proposed it, when a client identified itself; permissions are
    /// checked against it when applying (see `AuthHeader`).
    public var auth: AuthHeader?

    public init(requestID: UInt64, command: Command, auth: AuthHeader? = nil) {
        self.requestID = requestID
        self.command = command
        self.auth = auth
    }
}

/// Format version of encoded commands, so a later release can read the logs
/// of this one.
private let commandFormatVersion: UInt8 = 1

extension CommandEnvelope: BinaryCodable {
    /// The encoding, in a buffer sized for it: a leader keeps it in its
    /// Raft log until the next snapshot, where growth by doubling would
    /// leave up to half of each entry's buffer unused.
    public func encodedForLog() -> [UInt8] {
        var w = BinaryWriter(capacity: estimatedSize)
        encode(to: &w)
        return w.bytes
    }

    /// Bytes the encoding takes, give or take a few (varint prefixes and
    /// the auth header are counted generously).
    var estimatedSize: Int {
        let overhead = 32 + (auth.map { $0.username.utf8.count + 16 } ?? 0)
        switch command {
        case .put(let p): return overhead + p.key.count + p.value.count
        default: return overhead + 96
        }
    }

    public func encode(to w: inout BinaryWriter) {
        w.write(commandFormatVersion)
        w.write(requestID)
        switch command {
        case .put(let p):
            w.write(UInt8(1))
            p.encode(to: &w)
        case .deleteRange(let d):
            w.write(UInt8(2))
            d.encode(to: &w)
        case .txn(let t):
            w.write(UInt8(3))
            t.encode(to: &w)
        case .compact(let c):
            w.write(UInt8(4))
            w.writeSigned(c.revision)
            w.write(c.physical)
        case .leaseGrant(let id, let ttl):
            w.write(UInt8(5))
            w.writeSigned(id)
            w.writeSigned(ttl)
        case .leaseRevoke(let id):
            w.write(UInt8(6))
            w.writeSigned(id)
        case .publish(let id, let name, let clientURLs):
            w.write(UInt8(7))
            w.write(id)
            w.write(Array(name.utf8))
            w.writeStrings(clientURLs)
        case .memberUpdate(let id, let peerURLs):
            w.write(UInt8(8))
            w.write(id)
            w.writeStrings(peerURLs)
        case .alarm(let activate, let id, let type):
            w.write(UInt8(9))
            w.write(activate)
            w.write(id)
            w.write(UInt64(type.rawValue))
        case .auth(let a):
            w.write(UInt8(10))
            a.encode(to: &w)
        }
        // Optional trailer, so entries without one read as before.
        if let auth {
            w.write(UInt8(1))
            auth.encode(to: &w)
        }
    }

    public init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        let version = try r.readUInt8()
        guard version == commandFormatVersion else { throw .invalidValue("command format \(version)") }
        requestID = try r.readUInt64()
        switch try r.readUInt8() {
        case 1: command = .put(try PutRequest(from: &r))
        case 2: command = .deleteRange(try DeleteRangeRequest(from: &r))
        case 3: command = .txn(try TxnRequest(from: &r, depth: 0))
        case 4: command = .compact(CompactionRequest(revision: try r.readSigned(), physical: try r.readBool()))
        case 5: command = .leaseGrant(id: try r.readSigned(), ttl: try r.readSigned())
        case 6: command = .leaseRevoke(id: try r.readSigned())
        case 7:
            command = .publish(
                memberID: try r.readUInt64(), name: String(decoding: try r.readBytes(), as: UTF8.self),
                clientURLs: try r.readStrings())
        case 8: command = .memberUpdate(memberID: try r.readUInt64(), peerURLs: try r.readStrings())
        case 9:
            let activate = try r.readBool()
            let id = try r.readUInt64()
            guard let type = AlarmType(rawValue: Int(try r.readUInt64())) else { throw .invalidValue("alarm type") }
            command = .alarm(activate: activate, memberID: id, type: type)
        case 10: command = .auth(try AuthCommand(from: &r))
        case let tag: throw .invalidValue("command tag \(tag)")
        }
        if r.isAtEnd {
            auth = nil
        } else {
            guard try r.readUInt8() == 1 else { throw .invalidValue("command trailer") }
            auth = try AuthHeader(from: &r)
        }
    }
}

extension BinaryWriter {
    mutating func writeSigned(_ value: Int64) { write(UInt64(bitPattern: value)) }

    mutating func writeStrings(_ strings: [String]) {
        write(UInt64(strings.count))
        for string in strings { write(Array(string.utf8)) }
    }
}

extension BinaryReader {
    mutating func readStrings() throws(BinaryDecodingError) -> [String] {
        var strings: [String] = []
        for _ in 0..<(try readCount()) { strings.append(String(decoding: try readBytes(), as: UTF8.self)) }
        return strings
    }

    mutating func readSigned() throws(BinaryDecodingError) -> Int64 { Int64(bitPattern: try readUInt64()) }
}

extension PutRequest {
    func encode(to w: inout BinaryWriter) {
        w.write(key)
        w.write(value)
        w.writeSigned(lease)
        w.write(UInt8((prevKv ? 1 : 0) | (ignoreValue ? 2 : 0) | (ignoreLease ? 4 : 0)))
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        let key = try r.readBytes()
        let value = try r.readBytes()
        let lease = try r.readSigned()
        let flags = try r.readUInt8()
        self.init(
            key: key, value: value, lease: lease, prevKv: flags & 1 != 0, ignoreValue: flags & 2 != 0,
            ignoreLease: flags & 4 != 0)
    }
}

extension DeleteRangeRequest {
    func encode(to w: inout BinaryWriter) {
        w.write(key)
        w.write(rangeEnd)
        w.write(prevKv)
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        self.init(key: try r.readBytes(), rangeEnd: try r.readBytes(), prevKv: try r.readBool())
    }
}

extension RangeRequest {
    func encode(to w: inout BinaryWriter) {
        w.write(key)
        w.write(rangeEnd)
        w.writeSigned(limit)
        w.writeSigned(revision)
        w.write(UInt8(Self.orderCode(sortOrder)))
        w.write(UInt8(Self.targetCode(sortTarget)))
        w.write(UInt8((serializable ? 1 : 0) | (keysOnly ? 2 : 0) | (countOnly ? 4 : 0)))
        w.writeSigned(minModRevision)
        w.writeSigned(maxModRevision)
        w.writeSigned(minCreateRevision)
        w.writeSigned(maxCreateRevision)
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        let key = try r.readBytes()
        let rangeEnd = try r.readBytes()
        let limit = try r.readSigned()
        let revision = try r.readSigned()
        let order: SortOrder
        switch try r.readUInt8() {
        case 0: order = .none
        case 1: order = .ascend
        case 2: order = .descend
        case let x: throw .invalidValue("sort order \(x)")
        }
        let target: SortTarget
        switch try r.readUInt8() {
        case 0: target = .key
        case 1: target = .version
        case 2: target = .create
        case 3: target = .mod
        case 4: target = .value
        case let x: throw .invalidValue("sort target \(x)")
        }
        let flags = try r.readUInt8()
        self.init(
            key: key, rangeEnd: rangeEnd, limit: limit, revision: revision, sortOrder: order, sortTarget: target,
            serializable: flags & 1 != 0, keysOnly: flags & 2 != 0, countOnly: flags & 4 != 0,
            minModRevision: try r.readSigned(), maxModRevision: try r.readSigned(),
            minCreateRevision: try r.readSigned(), maxCreateRevision: try r.readSigned())
    }

    private static func orderCode(_ o: SortOrder) -> Int {
        switch o {
        case .none: 0
        case .ascend: 1
        case .descend: 2
        }
    }

    private static func targetCode(_ t: SortTarget) -> Int {
        switch t {
        case .key: 0
        case .version: 1
        case .create: 2
        case .mod: 3
        case .value: 4
        }
    }
}

extension Compare {
    func encode(to w: inout BinaryWriter) {
        w.write(key)
        w.write(rangeEnd)
        let result: UInt8 =
            switch self.result {
            case .equal: 0
            case .greater: 1
            case .less: 2
            case .notEqual: 3
            }
        w.write(result)
        switch target {
        case .version(let v):
            w.write(UInt8(0))
            w.writeSigned(v)
        case .createRevision(let v):
            w.write(UInt8(1))
            w.writeSigned(v)
        case .modRevision(let v):
            w.write(UInt8(2))
            w.writeSigned(v)
        case .value(let v):
            w.write(UInt8(3))
            w.write(v)
        case .lease(let v):
            w.write(UInt8(4))
            w.writeSigned(v)
        }
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        let key = try r.readBytes()
        let rangeEnd = try r.readBytes()
        let result: Result
        switch try r.readUInt8() {
        case 0: result = .equal
        case 1: result = .greater
        case 2: result = .less
        case 3: result = .notEqual
        case let x: throw .invalidValue("compare result \(x)")
        }
        let target: Target
        switch try r.readUInt8() {
        case 0: target = .version(try r.readSigned())
        case 1: target = .createRevision(try r.readSigned())
        case 2: target = .modRevision(try r.readSigned())
        case 3: target = .value(try r.readBytes())
        case 4: target = .lease(try r.readSigned())
        case let x: throw .invalidValue("compare target \(x)")
        }
        self.init(key: key, rangeEnd: rangeEnd, target: target, result: result)
    }
}

extension TxnRequest {
    /// Nesting beyond this is refused when decoding: a hostile entry cannot
    /// exhaust the stack (the request limits keep real ones far shallower).
    static let maxDecodeDepth = 64

    func encode(to w: inout BinaryWriter) {
        w.write(UInt64(compare.count))
        for c in compare { c.encode(to: &w) }
        Self.encode(success, to: &w)
        Self.encode(failure, to: &w)
    }

    private static func encode(_ ops: [RequestOp], to w: inout BinaryWriter) {
        w.write(UInt64(ops.count))
        for op in ops {
            switch op {
            case .range(let q):
                w.write(UInt8(0))
                q.encode(to: &w)
            case .put(let q):
                w.write(UInt8(1))
                q.encode(to: &w)
            case .deleteRange(let q):
                w.write(UInt8(2))
                q.encode(to: &w)
            case .txn(let q):
                w.write(UInt8(3))
                q.encode(to: &w)
            }
        }
    }

    init(from r: inout BinaryReader, depth: Int) throws(BinaryDecodingError) {
        guard depth < Self.maxDecodeDepth else { throw .invalidValue("txn nested too deeply") }
        let compareCount = try r.readCount()
        var compares: [Compare] = []
        for _ in 0..<compareCount { compares.append(try Compare(from: &r)) }
        let success = try Self.decodeOps(from: &r, depth: depth)
        let failure = try Self.decodeOps(from: &r, depth: depth)
        self.init(compare: compares, success: success, failure: failure)
    }

    private static func decodeOps(from r: inout BinaryReader, depth: Int) throws(BinaryDecodingError) -> [RequestOp] {
        let count = try r.readCount()
        var ops: [RequestOp] = []
        for _ in 0..<count {
            switch try r.readUInt8() {
            case 0: ops.append(.range(try RangeRequest(from: &r)))
            case 1: ops.append(.put(try PutRequest(from: &r)))
            case 2: ops.append(.deleteRange(try DeleteRangeRequest(from: &r)))
            case 3: ops.append(.txn(try TxnRequest(from: &r, depth: depth + 1)))
            case let x: throw .invalidValue("request op \(x)")
            }
        }
        return ops
    }
}
