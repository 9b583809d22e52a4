import MVCC
import Raft

/// The replicated state a Raft snapshot carries (its `data`): the members,
/// alarms and auth state, and where the MVCC store is.
///
/// A member with a backend keeps only this small part in its snapshot
/// files and in memory (`Payload.inBackend`): the store is in the backend,
/// synced before the snapshot is saved, as etcd keeps its v2 snapshot small
/// and its data in bolt. When a leader sends a snapshot to a follower, it
/// attaches the whole backend, read at send time (`Payload.backendImage`),
/// as etcd sends its bolt file. An in-memory member (tests) carries the
/// store itself (`Payload.store`).
///
/// Versioned, so a member never misreads a snapshot from a newer format;
/// version 1 (the store always inside) is still read.
struct ServerSnapshot: Sendable {
    static let magic: [UInt8] = Array("SESN".utf8)
    static let version: UInt8 = 2

    /// Where the key-value store of the snapshot is.
    enum Payload: Sendable, Equatable {
        /// `KVStore.snapshot()` bytes.
        case store([UInt8])
        /// In the member's backend, at or past the snapshot's index.
        case inBackend
        /// A `BackendImage` of the sender's backend (its consistent index
        /// at or past the snapshot's).
        case backendImage([UInt8])
    }

    var members: [Member]
    var alarms: [AlarmMember]
    var payload: Payload
    /// Users, roles and the auth switch (an optional trailer in version 1:
    /// snapshots written before auth existed end after the store).
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
        switch payload {
        case .store(let bytes):
            w.write(UInt8(0))
            w.write(bytes)
        case .inBackend:
            w.write(UInt8(1))
        case .backendImage(let bytes):
            w.write(UInt8(2))
            w.write(bytes)
        }
        auth.encode(to: &w)
        return w.bytes
    }

    init(members: [Member], alarms: [AlarmMember], payload: Payload, auth: AuthStore = AuthStore()) {
        self.members = members
        self.alarms = alarms
        self.payload = payload
        self.auth = auth
    }

    /// The same snapshot with the store somewhere else.
    func with(payload: Payload) -> ServerSnapshot {
        ServerSnapshot(members: members, alarms: alarms, payload: payload, auth: auth)
    }

    init(decoding bytes: [UInt8]) throws(BinaryDecodingError) {
        var r = BinaryReader(bytes)
        for byte in Self.magic {
            guard try r.readUInt8() == byte else { throw .invalidValue("not a swift-etcd server snapshot") }
        }
        let version = try r.readUInt8()
        guard version == 1 || version == Self.version else {
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
        if version == 1 {
            self.payload = .store(try r.readBytes())
            self.auth = r.isAtEnd ? AuthStore() : try AuthStore(from: &r)
            return
        }
        switch try r.readUInt8() {
        case 0: self.payload = .store(try r.readBytes())
        case 1: self.payload = .inBackend
        case 2: self.payload = .backendImage(try r.readBytes())
        case let tag: throw .invalidValue("snapshot payload \(tag)")
        }
        self.auth = try AuthStore(from: &r)
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
