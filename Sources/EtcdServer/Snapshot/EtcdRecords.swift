import MVCC

/// The records etcd 3.4 keeps in its bolt buckets, with their protobuf
/// encodings (`ProtobufWire`): what a snapshot holds and what we must read
/// from one taken by etcd.

/// `mvccpb.KeyValue`, one version in the `key` bucket: MVCC's `KeyValue`
/// in etcd's encoding. A tombstone is a record with only the key (etcd's
/// delete writes `KeyValue{Key: key}`).
extension KeyValue {
    func protobufEncoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.bytes(1, key)
        w.int64(2, createRevision)
        w.int64(3, modRevision)
        w.int64(4, version)
        w.bytes(5, value)
        w.int64(6, lease)
        return w.bytes
    }

    init(protobuf bytes: [UInt8]) throws(ProtobufError) {
        self.init(key: [], createRevision: 0, modRevision: 0, version: 0, value: [])
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: key = try value.data()
            case 2: createRevision = Int64(bitPattern: try value.integer())
            case 3: modRevision = Int64(bitPattern: try value.integer())
            case 4: version = Int64(bitPattern: try value.integer())
            case 5: self.value = try value.data()
            case 6: lease = Int64(bitPattern: try value.integer())
            default: continue
            }
        }
    }
}

/// `leasepb.Lease`, keyed in the `lease` bucket by the 8-byte big-endian ID.
struct EtcdLease: Equatable {
    var id: Int64
    var ttl: Int64
    /// The TTL left at the last checkpoint (etcd's lease checkpointing,
    /// off by default); 0 when none.
    var remainingTTL: Int64 = 0

    func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.int64(1, id)
        w.int64(2, ttl)
        w.int64(3, remainingTTL)
        return w.bytes
    }

    init(id: Int64, ttl: Int64, remainingTTL: Int64 = 0) {
        self.id = id
        self.ttl = ttl
        self.remainingTTL = remainingTTL
    }

    init(decoding bytes: [UInt8]) throws(ProtobufError) {
        id = 0
        ttl = 0
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: id = Int64(bitPattern: try value.integer())
            case 2: ttl = Int64(bitPattern: try value.integer())
            case 3: remainingTTL = Int64(bitPattern: try value.integer())
            default: continue
            }
        }
    }
}

/// `authpb.User`, keyed in `authUsers` by name. etcd 3.4 always writes
/// `options` (`UserAddOptions`, empty unless `no_password`).
struct EtcdUser: Equatable {
    var name: [UInt8]
    /// etcd's bcrypt hash (`$2a$10$…`), or our own hash's text form.
    var password: [UInt8]
    var roles: [String]
    var noPassword: Bool

    func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.bytes(1, name)
        w.bytes(2, password)
        for role in roles { w.repeatedString(3, role) }
        var options = ProtobufWriter()
        options.bool(1, noPassword)
        w.message(4, options.bytes)
        return w.bytes
    }

    init(name: [UInt8], password: [UInt8], roles: [String], noPassword: Bool) {
        self.name = name
        self.password = password
        self.roles = roles
        self.noPassword = noPassword
    }

    init(decoding bytes: [UInt8]) throws(ProtobufError) {
        name = []
        password = []
        roles = []
        noPassword = false
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: name = try value.data()
            case 2: password = try value.data()
            case 3: roles.append(String(decoding: try value.data(), as: UTF8.self))
            case 4:
                var options = ProtobufReader(try value.data())
                while let (optionField, optionValue) = try options.next() {
                    if optionField == 1 { noPassword = try optionValue.integer() != 0 }
                }
            default: continue
            }
        }
    }
}

/// `authpb.Role` with its `authpb.Permission`s, keyed in `authRoles` by name.
struct EtcdRole: Equatable {
    struct Permission: Equatable {
        /// READ 0, WRITE 1, READWRITE 2.
        var type: Int
        var key: [UInt8]
        var rangeEnd: [UInt8]
    }

    var name: [UInt8]
    var permissions: [Permission]

    func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.bytes(1, name)
        for permission in permissions {
            var p = ProtobufWriter()
            p.int64(1, Int64(permission.type))
            p.bytes(2, permission.key)
            p.bytes(3, permission.rangeEnd)
            w.message(2, p.bytes)
        }
        return w.bytes
    }

    init(name: [UInt8], permissions: [Permission]) {
        self.name = name
        self.permissions = permissions
    }

    init(decoding bytes: [UInt8]) throws(ProtobufError) {
        name = []
        permissions = []
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: name = try value.data()
            case 2:
                var permission = Permission(type: 0, key: [], rangeEnd: [])
                var p = ProtobufReader(try value.data())
                while let (pField, pValue) = try p.next() {
                    switch pField {
                    case 1: permission.type = Int(truncatingIfNeeded: try pValue.integer())
                    case 2: permission.key = try pValue.data()
                    case 3: permission.rangeEnd = try pValue.data()
                    default: continue
                    }
                }
                permissions.append(permission)
            default: continue
            }
        }
    }
}

/// `etcdserverpb.AlarmMember`: etcd's `alarm` bucket uses the encoded
/// message as the key, with an empty value.
struct EtcdAlarm: Equatable {
    var memberID: UInt64
    var alarm: Int

    func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.uint64(1, memberID)
        w.int64(2, Int64(alarm))
        return w.bytes
    }

    init(memberID: UInt64, alarm: Int) {
        self.memberID = memberID
        self.alarm = alarm
    }

    init(decoding bytes: [UInt8]) throws(ProtobufError) {
        memberID = 0
        alarm = 0
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: memberID = try value.integer()
            case 2: alarm = Int(truncatingIfNeeded: try value.integer())
            default: continue
            }
        }
    }
}

/// A member as etcd 3.4 keeps it in the `members` bucket: JSON of its
/// `membership.Member` (`id` as a number, then `RaftAttributes`, then
/// `Attributes`, empty optional fields left out), keyed by the member ID
/// in lowercase hexadecimal.
enum EtcdMemberJSON {
    static func key(_ member: Member) -> [UInt8] { Array(String(member.id, radix: 16).utf8) }

    static func encode(_ member: Member) -> [UInt8] {
        var json = "{\"id\":\(member.id),\"peerURLs\":\(array(member.peerURLs))"
        if member.isLearner { json += ",\"isLearner\":true" }
        if !member.name.isEmpty { json += ",\"name\":\(string(member.name))" }
        if !member.clientURLs.isEmpty { json += ",\"clientURLs\":\(array(member.clientURLs))" }
        json += "}"
        return Array(json.utf8)
    }

    private static func array(_ values: [String]) -> String {
        "[" + values.map(string).joined(separator: ",") + "]"
    }

    /// A JSON string as Go's encoding/json writes it (HTML characters
    /// escaped too).
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 { out += unicodeEscape(scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
