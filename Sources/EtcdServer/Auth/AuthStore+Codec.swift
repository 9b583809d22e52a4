import Raft

// Binary forms of the auth store: the whole store in a Raft snapshot, one
// record per user or role in the backend's `authUsers` and `authRoles`
// buckets. Users hold only password hashes, so neither form ever contains
// a clear password.

extension AuthStore {
    private static let formatVersion: UInt8 = 1

    func encode(to w: inout BinaryWriter) {
        w.write(Self.formatVersion)
        w.write(isEnabled)
        w.write(revision)
        let users = userNames.compactMap { self.users[$0] }
        w.write(UInt64(users.count))
        for user in users { user.encode(to: &w) }
        let roles = roleNames.compactMap { self.roles[$0] }
        w.write(UInt64(roles.count))
        for role in roles { role.encode(to: &w) }
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        let version = try r.readUInt8()
        guard version == Self.formatVersion else { throw .invalidValue("auth store format \(version)") }
        let isEnabled = try r.readBool()
        let revision = try r.readUInt64()
        var users: [AuthUser] = []
        for _ in 0..<(try r.readCount()) { users.append(try AuthUser(from: &r)) }
        var roles: [AuthRole] = []
        for _ in 0..<(try r.readCount()) { roles.append(try AuthRole(from: &r)) }
        self.init(isEnabled: isEnabled, revision: revision, users: users, roles: roles)
    }
}

extension AuthUser {
    func encode(to w: inout BinaryWriter) {
        w.writeString(name)
        w.writeStrings(roles)
        w.write(noPassword)
        w.write(password != nil)
        password?.encode(to: &w)
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        let name = try r.readString()
        let roles = try r.readStrings()
        let noPassword = try r.readBool()
        let password = try r.readBool() ? try PasswordHash(from: &r) : nil
        self.init(name: name, password: password, roles: roles, noPassword: noPassword)
    }
}

extension AuthRole {
    func encode(to w: inout BinaryWriter) {
        w.writeString(name)
        w.write(UInt64(permissions.count))
        for permission in permissions { permission.encode(to: &w) }
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        let name = try r.readString()
        var permissions: [KeyPermission] = []
        for _ in 0..<(try r.readCount()) { permissions.append(try KeyPermission(from: &r)) }
        self.init(name: name, permissions: permissions)
    }
}
