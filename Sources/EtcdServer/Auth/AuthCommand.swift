import Raft

/// The auth store changes that travel through the Raft log, one per
/// mutating `etcdserverpb.Auth` RPC (etcd's `InternalRaftRequest` auth
/// fields). Passwords are hashed before proposing: the log, and so the WAL
/// and snapshots, never hold a clear password.
public enum AuthCommand: Sendable, Hashable {
    case enable
    case disable
    /// A password already checked by the proposer; applying it makes every
    /// member know the token `<tokenPrefix>.<entry index>` (etcd's
    /// `InternalAuthenticateRequest`, which carries no password either).
    case authenticate(name: String, tokenPrefix: String)
    case userAdd(name: String, password: PasswordHashRecord?, noPassword: Bool)
    case userDelete(name: String)
    case userChangePassword(name: String, password: PasswordHashRecord)
    case userGrantRole(user: String, role: String)
    case userRevokeRole(user: String, role: String)
    case roleAdd(name: String)
    case roleDelete(name: String)
    case roleGrantPermission(role: String, permission: KeyPermission)
    case roleRevokePermission(role: String, key: [UInt8], rangeEnd: [UInt8])

    /// etcd's `needAdminPermission`: everything but authenticating needs
    /// the `root` role once auth is on.
    var needsAdmin: Bool {
        if case .authenticate = self { return false }
        return true
    }
}

/// A password hash as an opaque value outside this module (so the public
/// command type can carry one without exposing the hash's layout).
public struct PasswordHashRecord: Sendable, Hashable {
    var hash: PasswordHash
}

extension AuthCommand {
    func encode(to w: inout BinaryWriter) {
        switch self {
        case .enable:
            w.write(UInt8(1))
        case .disable:
            w.write(UInt8(2))
        case .authenticate(let name, let prefix):
            w.write(UInt8(3))
            w.writeString(name)
            w.writeString(prefix)
        case .userAdd(let name, let password, let noPassword):
            w.write(UInt8(4))
            w.writeString(name)
            w.write(noPassword)
            w.write(password != nil)
            password?.hash.encode(to: &w)
        case .userDelete(let name):
            w.write(UInt8(5))
            w.writeString(name)
        case .userChangePassword(let name, let password):
            w.write(UInt8(6))
            w.writeString(name)
            password.hash.encode(to: &w)
        case .userGrantRole(let user, let role):
            w.write(UInt8(7))
            w.writeString(user)
            w.writeString(role)
        case .userRevokeRole(let user, let role):
            w.write(UInt8(8))
            w.writeString(user)
            w.writeString(role)
        case .roleAdd(let name):
            w.write(UInt8(9))
            w.writeString(name)
        case .roleDelete(let name):
            w.write(UInt8(10))
            w.writeString(name)
        case .roleGrantPermission(let role, let permission):
            w.write(UInt8(11))
            w.writeString(role)
            permission.encode(to: &w)
        case .roleRevokePermission(let role, let key, let rangeEnd):
            w.write(UInt8(12))
            w.writeString(role)
            w.write(key)
            w.write(rangeEnd)
        }
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        switch try r.readUInt8() {
        case 1: self = .enable
        case 2: self = .disable
        case 3: self = .authenticate(name: try r.readString(), tokenPrefix: try r.readString())
        case 4:
            let name = try r.readString()
            let noPassword = try r.readBool()
            let password = try r.readBool() ? PasswordHashRecord(hash: try PasswordHash(from: &r)) : nil
            self = .userAdd(name: name, password: password, noPassword: noPassword)
        case 5: self = .userDelete(name: try r.readString())
        case 6:
            self = .userChangePassword(
                name: try r.readString(), password: PasswordHashRecord(hash: try PasswordHash(from: &r)))
        case 7: self = .userGrantRole(user: try r.readString(), role: try r.readString())
        case 8: self = .userRevokeRole(user: try r.readString(), role: try r.readString())
        case 9: self = .roleAdd(name: try r.readString())
        case 10: self = .roleDelete(name: try r.readString())
        case 11: self = .roleGrantPermission(role: try r.readString(), permission: try KeyPermission(from: &r))
        case 12:
            self = .roleRevokePermission(role: try r.readString(), key: try r.readBytes(), rangeEnd: try r.readBytes())
        case let tag: throw .invalidValue("auth command tag \(tag)")
        }
    }
}

extension KeyPermission {
    func encode(to w: inout BinaryWriter) {
        w.write(UInt8(access.rawValue))
        w.write(key)
        w.write(rangeEnd)
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        guard let access = Access(rawValue: Int(try r.readUInt8())) else { throw .invalidValue("permission type") }
        self.init(access: access, key: try r.readBytes(), rangeEnd: try r.readBytes())
    }
}

extension BinaryWriter {
    mutating func writeString(_ string: String) { write(Array(string.utf8)) }
}

extension BinaryReader {
    mutating func readString() throws(BinaryDecodingError) -> String {
        String(decoding: try readBytes(), as: UTF8.self)
    }
}
