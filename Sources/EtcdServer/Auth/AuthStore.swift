/// etcd's auth store as replicated state: whether authentication is on,
/// the users and roles, and a revision bumped by every change to them.
/// Changed only by applying `AuthCommand`s in log order, so every member
/// holds the same store and makes the same permission decisions.
///
/// Tokens are not here: they are member-local (see `SimpleTokenStore`).
public struct AuthStore: Sendable, Hashable {
    static let rootUser = "root"
    static let rootRole = "root"

    public internal(set) var isEnabled = false
    /// etcd's auth revision: starts at 1 and grows with each change to users
    /// or roles (and with disabling). Requests carry the revision they were
    /// authorized against; an older one is refused (`authOldRevision`).
    public internal(set) var revision: UInt64 = 1
    public internal(set) var users: [String: AuthUser] = [:]
    public internal(set) var roles: [String: AuthRole] = [:]

    public init() {}

    init(isEnabled: Bool, revision: UInt64, users: [AuthUser], roles: [AuthRole]) {
        self.isEnabled = isEnabled
        self.revision = revision
        self.users = Dictionary(users.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.roles = Dictionary(roles.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// User names in byte order (etcd lists its `authUsers` bucket).
    public var userNames: [String] { users.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) } }
    /// Role names in byte order.
    public var roleNames: [String] { roles.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) } }
}

/// What applying an auth command produced, for its proposer.
public enum AuthApplied: Sendable, Hashable {
    /// The command changed the store, or had nothing to change.
    case done
    /// `authenticate` passed: `name` may be issued the token
    /// `<prefix>.<index of the entry>`.
    case authenticated(name: String, tokenPrefix: String)
    /// The member turned `authenticated` into this token.
    case token(String)
}

// MARK: Applying

extension AuthStore {
    /// Applies one command (etcd's `authStore` methods, with their checks
    /// and errors). Permission to issue it was checked by the caller.
    mutating func apply(_ command: AuthCommand) -> Result<AuthApplied, EtcdError> {
        switch command {
        case .enable: return enable()
        case .disable:
            if isEnabled {
                isEnabled = false
                revision += 1
            }
            return .success(.done)
        case .authenticate(let name, let prefix):
            guard isEnabled else { return .failure(.authNotEnabled) }
            guard let user = users[name], !user.noPassword else { return .failure(.authFailed) }
            return .success(.authenticated(name: user.name, tokenPrefix: prefix))
        case .userAdd(let name, let password, let noPassword):
            guard !name.isEmpty else { return .failure(.userEmpty) }
            guard users[name] == nil else { return .failure(.userAlreadyExists) }
            users[name] = AuthUser(name: name, password: noPassword ? nil : password?.hash, noPassword: noPassword)
        case .userDelete(let name):
            if isEnabled && name == Self.rootUser { return .failure(.invalidAuthManagement) }
            guard users.removeValue(forKey: name) != nil else { return .failure(.userNotFound) }
        case .userChangePassword(let name, let password):
            guard users[name] != nil else { return .failure(.userNotFound) }
            users[name]?.password = password.hash
        case .userGrantRole(let name, let role):
            guard var user = users[name] else { return .failure(.userNotFound) }
            // etcd lets `root` be granted before the role exists.
            guard role == Self.rootRole || roles[role] != nil else { return .failure(.roleNotFound) }
            guard !user.hasRole(role) else { return .success(.done) }  // etcd ignores a repeat grant
            user.roles = (user.roles + [role]).sorted()
            users[name] = user
        case .userRevokeRole(let name, let role):
            if isEnabled && name == Self.rootUser && role == Self.rootRole { return .failure(.invalidAuthManagement) }
            guard var user = users[name] else { return .failure(.userNotFound) }
            guard user.hasRole(role) else { return .failure(.roleNotGranted) }
            user.roles.removeAll { $0 == role }
            users[name] = user
        case .roleAdd(let name):
            guard !name.isEmpty else { return .failure(.roleEmpty) }
            guard roles[name] == nil else { return .failure(.roleAlreadyExists) }
            roles[name] = AuthRole(name: name)
        case .roleDelete(let name):
            if isEnabled && name == Self.rootRole { return .failure(.invalidAuthManagement) }
            guard roles.removeValue(forKey: name) != nil else { return .failure(.roleNotFound) }
            for (userName, user) in users where user.hasRole(name) {
                users[userName]?.roles.removeAll { $0 == name }
            }
        case .roleGrantPermission(let name, let permission):
            guard roles[name] != nil else { return .failure(.roleNotFound) }
            roles[name]?.grant(permission)
        case .roleRevokePermission(let name, let key, let rangeEnd):
            guard var role = roles[name] else { return .failure(.roleNotFound) }
            guard role.revoke(key: key, rangeEnd: rangeEnd) else { return .failure(.permissionNotGranted) }
            roles[name] = role
        }
        revision += 1
        return .success(.done)
    }

    /// etcd's `AuthEnable`: only with a `root` user holding the `root` role,
    /// so that someone can always manage the store once it is on.
    private mutating func enable() -> Result<AuthApplied, EtcdError> {
        guard !isEnabled else { return .success(.done) }
        guard let root = users[Self.rootUser] else { return .failure(.rootUserNotExist) }
        guard root.isRoot else { return .failure(.rootRoleNotExist) }
        isEnabled = true
        return .success(.done)
    }
}

// MARK: Checking

extension AuthStore {
    /// etcd's `isOpPermitted`: may the caller read (or write) `key`, or the
    /// range `[key, rangeEnd)`? Always yes while auth is off.
    func checkPermission(
        _ caller: AuthHeader?, key: [UInt8], rangeEnd: [UInt8] = [], access: KeyPermission.Access
    ) throws(EtcdError) {
        guard let permissions = try permissions(of: caller) else { return }
        guard permissions.allows(key: key, rangeEnd: rangeEnd, access: access) else { throw .permissionDenied }
    }

    /// What `caller` may touch, or nil when anything goes (auth off, or a
    /// `root` user). Throws what etcd answers for a missing or stale caller.
    func permissions(of caller: AuthHeader?) throws(EtcdError) -> UserPermissions? {
        guard isEnabled else { return nil }
        guard let caller, caller.revision != 0 else { throw .userEmpty }
        if caller.revision < revision { throw .authOldRevision }
        guard let user = users[caller.username] else { throw .permissionDenied }
        if user.isRoot { return nil }
        let grants = user.roles.compactMap { roles[$0] }.flatMap(\.permissions)
        return UserPermissions(grants: grants)
    }

    /// etcd's `IsAdminPermitted`: the caller must hold the `root` role.
    func checkAdmin(_ caller: AuthHeader?) throws(EtcdError) {
        guard isEnabled else { return }
        guard let caller, !caller.username.isEmpty else { throw .userEmpty }
        guard let user = users[caller.username] else { throw .userNotFound }
        guard user.isRoot else { throw .permissionDenied }
    }

    /// Whether `username` holds `role` (etcd's `HasRole`, for RoleGet).
    func user(_ username: String, hasRole role: String) -> Bool {
        users[username]?.hasRole(role) ?? false
    }
}

/// One user's read and write grants, merged from all its roles (etcd's
/// range permission cache entry), built once per request.
struct UserPermissions: Sendable {
    let read: KeyIntervals
    let write: KeyIntervals

    init(grants: [KeyPermission]) {
        read = KeyIntervals(permissions: grants, allowing: .read)
        write = KeyIntervals(permissions: grants, allowing: .write)
    }

    func allows(key: [UInt8], rangeEnd: [UInt8], access: KeyPermission.Access) -> Bool {
        switch access {
        case .read: read.permits(key: key, rangeEnd: rangeEnd)
        case .write: write.permits(key: key, rangeEnd: rangeEnd)
        case .readWrite: read.permits(key: key, rangeEnd: rangeEnd) && write.permits(key: key, rangeEnd: rangeEnd)
        }
    }
}
