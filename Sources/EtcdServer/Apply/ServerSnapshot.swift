import MVCC
import Raft

/// The replicated state a Raft snapshot carries (its `data`): the members
/// and the MVCC store with its leases. etcd splits the same content between
/// its v2 store (members) and its bolt database (keys, leases); one blob
/// keeps install and restart a single step.
///
/// Versioned, so a member never misreads a snapshot from a newer format.
struct ServerSnapshot: Sendable {
    static let magic: [UInt8] = Array("SESN".utf8)
    static let version: UInt8 = 1

    var members: [Member]
    var alarms: [AlarmMember]
    /// `KVStore.snapshot()` bytes.
    var store: [UInt8]
    /// Users, roles and the auth switch (an optional trailer: snapshots
    /// written before auth existed end after `store`).
    var auth: AuthStore

    func encoded() -> [UInt8] {
        var w = BinaryWriter()
        for byte in Self.magic { w.write(byte) }
        w.write(Self.version)
        w.write(UInt64(members.count))
        for member in members { member.encode(to: &w) }
        w.write(UInt64(alarms.count))
        for alarm in alarms {
            w.write(alarm.memberID)
            w.write(UInt64(alarm.alarm.rawValue))
        }
        w.write(store)
        auth.encode(to: &w)
        return w.bytes
    }

    init(members: [Member], alarms: [AlarmMember], store: [UInt8], auth: AuthStore = AuthStore()) {
        self.members = members
        self.alarms = alarms
        self.store = store
        self.auth = auth
    }

    init(decoding bytes: [UInt8]) throws(BinaryDecodingError) {
        var r = BinaryReader(bytes)
        for byte in Self.magic {
            guard try r.readUInt8() == byte else { throw .invalidValue("not a swift-etcd server snapshot") }
        }
        let version = try r.readUInt8()
        guard version == Self.version else {
            throw BinaryDecodingError.invalidValue("server snapshot version \(version) is not supported")
        }
        let count = try r.readCount()
        var members: [Member] = []
        members.reserveCapacity(count)
        for _ in 0..<count { members.append(try Member(from: &r)) }
        self.members = members
        var alarms: [AlarmMember] = []
        for _ in 0..<(try r.readCount()) {
            let id = try r.readUInt64()
            guard let type = AlarmType(rawValue: Int(try r.readUInt64())) else { throw .invalidValue("alarm type") }
            alarms.append(AlarmMember(memberID: id, alarm: type))
        }
        self.alarms = alarms
        self.store = try r.readBytes()
        self.auth = r.isAtEnd ? AuthStore() : try AuthStore(from: &r)
    }
}

extension Member {
    func encode(to w: inout BinaryWriter) {
        w.write(id)
        w.write(Array(name.utf8))
        w.writeStrings(peerURLs)
        w.writeStrings(clientURLs)
        w.write(isLearner)
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        let id = try r.readUInt64()
        let name = String(decoding: try r.readBytes(), as: UTF8.self)
        let peerURLs = try r.readStrings()
        let clientURLs = try r.readStrings()
        let isLearner = try r.readBool()
        self.init(id: id, name: name, peerURLs: peerURLs, clientURLs: clientURLs, isLearner: isLearner)
    }
}
