import Crypto
import Raft
import Storage

/// The auth store in the backend, in etcd's three buckets: `auth` holds the
/// switch (`authEnabled`, one byte) and the revision (`authRevision`, eight
/// bytes big-endian), `authUsers` one record per user and `authRoles` one
/// per role, keyed by name. Rewritten whole when it changed (it is small and
/// changes rarely), in the same transaction as the applied index.
extension MVCCBackend {
    enum AuthKey {
        static let enabled = Array("authEnabled".utf8)
        static let revision = Array("authRevision".utf8)
    }

    static let authBucket: Bucket = "auth"
    static let authUsersBucket: Bucket = "authUsers"
    static let authRolesBucket: Bucket = "authRoles"

    static func writeAuth(_ tx: inout WriteTransaction, _ auth: AuthStore) throws {
        for bucket in Buckets.auth { _ = try tx.deleteRange(in: bucket, from: [], to: nil) }
        try tx.put(AuthKey.enabled, [auth.isEnabled ? 1 : 0], in: authBucket)
        try tx.put(AuthKey.revision, encode(auth.revision), in: authBucket)
        for user in auth.users.values {
            var w = BinaryWriter()
            user.encode(to: &w)
            try tx.put(storageKey(for: user.name), w.bytes, in: authUsersBucket)
        }
        for role in auth.roles.values {
            var w = BinaryWriter()
            role.encode(to: &w)
            try tx.put(storageKey(for: role.name), w.bytes, in: authRolesBucket)
        }
    }

    /// The record key for a user or role: its name, as etcd keys them, or
    /// for a name too long for an LMDB key (511 bytes) a digest of it. Only
    /// uniqueness matters: the name itself is read back from the record.
    static func storageKey(for name: String) -> [UInt8] {
        let bytes = Array(name.utf8)
        guard bytes.count > maxNameKeyBytes else { return bytes }
        return [0xff] + Array(SHA256.hash(data: bytes))
    }

    static let maxNameKeyBytes = 256

    /// The stored auth store; a backend written before auth existed holds
    /// none, which reads as auth off with no users.
    static func readAuth(_ tx: borrowing ReadTransaction) throws -> AuthStore {
        let enabled = try tx.get(AuthKey.enabled, in: authBucket) == [1]
        let revision = try tx.get(AuthKey.revision, in: authBucket).flatMap(decodeUInt64) ?? 1
        var users: [AuthUser] = []
        for entry in try tx.entries(in: authUsersBucket) {
            var r = BinaryReader(entry.value)
            users.append(try AuthUser(from: &r))
        }
        var roles: [AuthRole] = []
        for entry in try tx.entries(in: authRolesBucket) {
            var r = BinaryReader(entry.value)
            roles.append(try AuthRole(from: &r))
        }
        return AuthStore(isEnabled: enabled, revision: revision, users: users, roles: roles)
    }
}

extension MVCCBackend.Buckets {
    static let auth = [MVCCBackend.authBucket, MVCCBackend.authUsersBucket, MVCCBackend.authRolesBucket]
}
