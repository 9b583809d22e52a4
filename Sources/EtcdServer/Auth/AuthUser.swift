/// A user of the auth store (etcd's `authpb.User`). The password exists
/// only as a slow salted hash, made before the user was proposed.
public struct AuthUser: Sendable, Hashable {
    public var name: String
    /// nil for a user created with `--no-password`, who cannot
    /// authenticate with a password (only by a TLS client certificate).
    var password: PasswordHash?
    /// Granted role names, kept sorted as etcd keeps them.
    public internal(set) var roles: [String]
    /// Created with `--no-password` (etcd's `UserAddOptions.no_password`).
    public var noPassword: Bool

    init(name: String, password: PasswordHash?, roles: [String] = [], noPassword: Bool) {
        self.name = name
        self.password = password
        self.roles = roles.sorted()
        self.noPassword = noPassword
    }

    func hasRole(_ role: String) -> Bool { roles.contains(role) }

    /// Whether the user holds the `root` role, which may do anything.
    var isRoot: Bool { hasRole(AuthStore.rootRole) }
}

/// A named set of key permissions (etcd's `authpb.Role`).
public struct AuthRole: Sendable, Hashable {
    public var name: String
    /// Kept sorted by key, then range end, as etcd lists them.
    public internal(set) var permissions: [KeyPermission]

    init(name: String, permissions: [KeyPermission] = []) {
        self.name = name
        self.permissions = permissions.sorted(by: Self.order)
    }

    /// Adds a grant, or changes the access of the grant for the same range.
    mutating func grant(_ permission: KeyPermission) {
        if let i = permissions.firstIndex(where: { $0.isSameRange(key: permission.key, rangeEnd: permission.rangeEnd) }) {
            permissions[i].access = permission.access
        } else {
            permissions.append(permission)
            permissions.sort(by: Self.order)
        }
    }

    /// Removes the grant for exactly this range; false if there was none.
    mutating func revoke(key: [UInt8], rangeEnd: [UInt8]) -> Bool {
        let before = permissions.count
        permissions.removeAll { $0.isSameRange(key: key, rangeEnd: rangeEnd) }
        return permissions.count != before
    }

    private static func order(_ a: KeyPermission, _ b: KeyPermission) -> Bool {
        if a.key != b.key { return a.key.lexicographicallyPrecedes(b.key) }
        return a.rangeEnd.lexicographicallyPrecedes(b.rangeEnd)
    }
}
