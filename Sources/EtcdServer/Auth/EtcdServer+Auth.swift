import Logging
import MVCC

/// etcd's `Auth` service on the server side, and the checks other services
/// make with it. Changes to users and roles go through the log like any
/// write (`Command.auth`) and are checked when applied; reads of the auth
/// store are served locally after a ReadIndex barrier.
extension EtcdServer {
    /// How often `authenticate` retries when the auth store changed while
    /// the password was being checked (etcd loops until it did not).
    static let authenticateAttempts = 5

    // MARK: Enabling

    public func authEnable() async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(.enable)
    }

    public func authDisable() async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(.disable)
    }

    // MARK: Authenticating

    /// etcd's `Authenticate`: checks the password here, off the actor (the
    /// hash is slow on purpose), then proposes an entry that carries no
    /// password; applying it makes the token every member accepts.
    public func authenticate(name: String, password: String) async throws(EtcdError) -> (
        token: String, header: ResponseHeader
    ) {
        try await linearizableReadBarrier()
        for _ in 0..<Self.authenticateAttempts {
            guard stateMachine.auth.isEnabled else { throw .authNotEnabled }
            guard let user = stateMachine.auth.users[name] else {
                logger.warning("invalid authentication was requested", metadata: ["user": "\(name)"])
                throw .authFailed
            }
            if user.noPassword {
                // etcd has no gRPC status for this one; clients see its Go text.
                throw .untranslated("auth: authentication failed, password was given for no password user")
            }
            guard let hash = user.password else { throw .authFailed }
            let checkedRevision = stateMachine.auth.revision
            guard await Self.verify(password, against: hash) else {
                logger.warning("invalid password", metadata: ["user-name": "\(name)"])
                throw .authFailed
            }
            let prefix = SimpleTokenStore.makePrefix()
            guard case .auth(.token(let token)) = try await propose(.auth(.authenticate(name: name, tokenPrefix: prefix)), as: nil)
            else { throw .stopped }
            if checkedRevision == stateMachine.auth.revision { return (token, currentHeader()) }
            logger.info("revision when password checked became stale; retrying", metadata: ["user-name": "\(name)"])
        }
        throw .authOldRevision
    }

    // MARK: Users

    /// Adds a user. The password is hashed here, before proposing, so that
    /// no log entry, WAL record or snapshot ever holds it in the clear.
    public func userAdd(name: String, password: String, noPassword: Bool) async throws(EtcdError) -> ResponseHeader {
        let caller = try await caller()
        // What applying would refuse, refused before paying for the hash.
        try stateMachine.auth.checkAdmin(caller)
        if name.isEmpty { throw .userEmpty }
        if stateMachine.auth.users[name] != nil { throw .userAlreadyExists }
        let hash = noPassword ? nil : try await Self.hash(password)
        return try await proposeAuth(.userAdd(name: name, password: hash, noPassword: noPassword), as: caller)
    }

    public func userDelete(name: String) async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(.userDelete(name: name))
    }

    public func userChangePassword(name: String, password: String) async throws(EtcdError) -> ResponseHeader {
        let caller = try await caller()
        try stateMachine.auth.checkAdmin(caller)
        if stateMachine.auth.users[name] == nil { throw .userNotFound }
        let hash = try await Self.hash(password)
        return try await proposeAuth(.userChangePassword(name: name, password: hash), as: caller)
    }

    public func userGrantRole(user: String, role: String) async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(.userGrantRole(user: user, role: role))
    }

    public func userRevokeRole(user: String, role: String) async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(.userRevokeRole(user: user, role: role))
    }

    /// A user's roles: for root, or for the user asking about itself.
    public func userGet(name: String) async throws(EtcdError) -> ([String], ResponseHeader) {
        try await linearizableReadBarrier()
        let caller = try await caller()
        do {
            try stateMachine.auth.checkAdmin(caller)
        } catch {
            guard name == caller?.username ?? "" else { throw error }
        }
        guard let user = stateMachine.auth.users[name] else { throw .userNotFound }
        return (user.roles, currentHeader())
    }

    public func userList() async throws(EtcdError) -> ([String], ResponseHeader) {
        try await linearizableReadBarrier()
        try stateMachine.auth.checkAdmin(try await caller())
        return (stateMachine.auth.userNames, currentHeader())
    }

    // MARK: Roles

    public func roleAdd(name: String) async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(.roleAdd(name: name))
    }

    public func roleDelete(name: String) async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(.roleDelete(name: name))
    }

    public func roleGrantPermission(role: String, permission: KeyPermission) async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(.roleGrantPermission(role: role, permission: permission))
    }

    public func roleRevokePermission(role: String, key: [UInt8], rangeEnd: [UInt8]) async throws(EtcdError)
        -> ResponseHeader
    {
        try await proposeAuth(.roleRevokePermission(role: role, key: key, rangeEnd: rangeEnd))
    }

    /// A role's permissions: for root, or for a user holding the role.
    public func roleGet(name: String) async throws(EtcdError) -> ([KeyPermission], ResponseHeader) {
        try await linearizableReadBarrier()
        let caller = try await caller()
        do {
            try stateMachine.auth.checkAdmin(caller)
        } catch {
            guard stateMachine.auth.user(caller?.username ?? "", hasRole: name) else { throw error }
        }
        guard let role = stateMachine.auth.roles[name] else { throw .roleNotFound }
        return (role.permissions, currentHeader())
    }

    public func roleList() async throws(EtcdError) -> ([String], ResponseHeader) {
        try await linearizableReadBarrier()
        try stateMachine.auth.checkAdmin(try await caller())
        return (stateMachine.auth.roleNames, currentHeader())
    }

    // MARK: Checks for the other services

    /// The caller of the current request (etcd's `AuthInfoFromCtx`): the
    /// user its token was issued to, else its certificate's common name,
    /// else nobody. A token this member does not know (expired, forgotten
    /// in a restart, or auth is off) is refused: the client authenticates
    /// again.
    func caller() async throws(EtcdError) -> AuthHeader? {
        guard let credentials = RequestCredentials.current else { return nil }
        if let token = credentials.token {
            let username = try await username(forToken: token)
            return AuthHeader(username: username, revision: stateMachine.auth.revision)
        }
        return authHeader(commonName: credentials.commonName)
    }

    /// TLS hook: the header for a request authenticated by a verified client
    /// certificate whose common name is `commonName` (nil or empty: none).
    /// etcd uses the name as the user only when auth is enabled, and only
    /// when `--client-cert-auth` verified the certificate; the TLS listener
    /// decides the latter before putting the name in `RequestCredentials`.
    func authHeader(commonName: String?) -> AuthHeader? {
        guard let commonName, !commonName.isEmpty, stateMachine.auth.isEnabled else { return nil }
        return AuthHeader(username: commonName, revision: stateMachine.auth.revision)
    }

    /// etcd's read-path check (`doSerialize`): may the caller read
    /// `[key, rangeEnd)`?
    func authorizeRead(key: [UInt8], rangeEnd: [UInt8]) async throws(EtcdError) {
        let caller = try await caller()
        try stateMachine.auth.checkPermission(caller, key: key, rangeEnd: rangeEnd, access: .read)
    }

    /// For operations only `root` may do once auth is on (membership
    /// changes: etcd's `checkMembershipOperationPermission`).
    public func authorizeAdmin() async throws(EtcdError) {
        try stateMachine.auth.checkAdmin(try await caller())
    }

    /// For Maintenance's Defragment, Hash, HashKV and Snapshot: root only,
    /// and, as in etcd, failures reach the client untranslated (`Unknown`
    /// with the auth package's text, e.g. `auth: permission denied`).
    public func authorizeMaintenance() async throws(EtcdError) {
        do {
            try await authorizeAdmin()
        } catch {
            throw .untranslated(error.authPackageText)
        }
    }

    /// Creates a watcher if the caller may read its range; otherwise queues
    /// etcd's refusal (created and canceled at once, with the reason).
    public func createWatchIfPermitted(_ request: WatchCreateRequest, on stream: WatchStreamID) async {
        // etcd watches from the smallest key when none is given.
        let key = request.range.key.isEmpty ? [0] : request.range.key
        do {
            try await authorizeRead(key: key, rangeEnd: request.range.rangeEnd)
        } catch {
            let reason: EtcdError =
                switch error {
                case .invalidAuthToken, .authOldRevision, .userEmpty: error
                default: .permissionDenied
                }
            watchHub.refuseCreate(on: stream, reason: reason.goStatusText, headerRevision: stateMachine.store.currentRevision)
            wakeWatchStreams()
            return
        }
        createWatch(request, on: stream)
    }

    // MARK: Applying

    /// What applying an auth command means beyond the store: tokens are
    /// made, or dropped, on this member; the change is logged. Returns the
    /// result for the proposer (an `authenticate` becomes its token).
    func authApplied(_ command: Command, result: ApplyResult, index: UInt64) -> ApplyResult {
        guard case .auth(let change) = command else { return result }
        if case .failure = result { return result }
        switch change {
        case .authenticate:
            guard case .auth(.authenticated(let name, let prefix)) = result else { return result }
            let token = "\(prefix).\(index)"
            tokens.assign(token, to: name, now: .now)
            logger.debug("authenticated a user", metadata: ["user-name": "\(name)"])
            return .auth(.token(token))
        case .userDelete(let name), .userChangePassword(let name, _):
            tokens.invalidate(username: name)
        case .disable:
            tokens.removeAll()
        default:
            break
        }
        logger.info("\(change.logMessage)", metadata: change.logMetadata)
        return result
    }

    // MARK: Helpers

    private func proposeAuth(_ command: AuthCommand) async throws(EtcdError) -> ResponseHeader {
        try await proposeAuth(command, as: try await caller())
    }

    private func proposeAuth(_ command: AuthCommand, as caller: AuthHeader?) async throws(EtcdError) -> ResponseHeader {
        guard case .auth = try await propose(.auth(command), as: caller) else { throw .stopped }
        return currentHeader()
    }

    private func username(forToken token: String) async throws(EtcdError) -> String {
        guard let index = SimpleTokenStore.index(of: token) else { throw .invalidAuthToken }
        // A token issued by an entry this member has not applied yet is not
        // known here yet (etcd waits for the index the same way).
        try await waitUntilApplied(index)
        guard let username = tokens.username(for: token, now: .now) else {
            logger.warning("invalid auth token", metadata: ["token-index": "\(index)"])
            throw .invalidAuthToken
        }
        return username
    }

    private func waitUntilApplied(_ index: UInt64) async throws(EtcdError) {
        let deadline = ContinuousClock.now + requestTimeout
        var waited = 0
        while raft.appliedIndex < index {
            if ContinuousClock.now >= deadline || waited > 10_000 { throw .invalidAuthToken }
            waited += 1
            do {
                try await Task.sleep(for: .milliseconds(max(1, config.heartbeatIntervalMs)))
            } catch {
                throw .stopped
            }
        }
    }

    /// Hashes a new password off the actor (about as slow as etcd's bcrypt).
    @concurrent
    private static func hash(_ password: String) async throws(EtcdError) -> PasswordHashRecord {
        do {
            return PasswordHashRecord(hash: try PasswordHash.make(password: password))
        } catch {
            throw .untranslated("auth: failed to hash the password: \(error)")
        }
    }

    @concurrent
    private static func verify(_ password: String, against hash: PasswordHash) async -> Bool {
        hash.matches(password)
    }
}

extension EtcdError {
    /// The error as Go prints a gRPC status (`rpc error: code = … desc = …`),
    /// which is what etcd puts in a refused watch's cancel reason.
    var goStatusText: String {
        let name =
            switch code {
            case .cancelled: "Canceled"
            case .unknown: "Unknown"
            case .invalidArgument: "InvalidArgument"
            case .notFound: "NotFound"
            case .permissionDenied: "PermissionDenied"
            case .resourceExhausted: "ResourceExhausted"
            case .failedPrecondition: "FailedPrecondition"
            case .outOfRange: "OutOfRange"
            case .unimplemented: "Unimplemented"
            case .unavailable: "Unavailable"
            case .unauthenticated: "Unauthenticated"
            }
        return "rpc error: code = \(name) desc = \(message)"
    }

    /// The text of etcd's `auth` package error, which some services send
    /// without translating it to an `etcdserver:` status.
    var authPackageText: String {
        switch self {
        case .userEmpty: "auth: user name is empty"
        case .userNotFound: "auth: user not found"
        case .permissionDenied: "auth: permission denied"
        case .invalidAuthToken: "auth: invalid auth token"
        case .authOldRevision: "auth: revision in header is old"
        default: message
        }
    }
}

extension AuthCommand {
    /// Whether applying it changes users, roles or the switch (an
    /// `authenticate` only makes a token).
    var changesStore: Bool {
        if case .authenticate = self { return false }
        return true
    }

    /// etcd's log line for the change.
    var logMessage: String {
        switch self {
        case .enable: "enabled authentication"
        case .disable: "disabled authentication"
        case .authenticate: "authenticated a user"
        case .userAdd: "added a user"
        case .userDelete: "deleted a user"
        case .userChangePassword: "changed a password of a user"
        case .userGrantRole: "granted a role to a user"
        case .userRevokeRole: "revoked a role from a user"
        case .roleAdd: "created a role"
        case .roleDelete: "deleted a role"
        case .roleGrantPermission: "granted/updated a permission to a role"
        case .roleRevokePermission: "revoked a permission on range"
        }
    }

    /// Names only; never a password or its hash.
    var logMetadata: Logger.Metadata {
        switch self {
        case .enable, .disable: [:]
        case .authenticate(let name, _), .userAdd(let name, _, _), .userDelete(let name),
            .userChangePassword(let name, _):
            ["user-name": "\(name)"]
        case .userGrantRole(let user, let role), .userRevokeRole(let user, let role):
            ["user-name": "\(user)", "role-name": "\(role)"]
        case .roleAdd(let name), .roleDelete(let name): ["role-name": "\(name)"]
        case .roleGrantPermission(let role, let permission):
            [
                "role-name": "\(role)", "key": "\(String(decoding: permission.key, as: UTF8.self))",
                "range-end": "\(String(decoding: permission.rangeEnd, as: UTF8.self))",
                "permission": "\(permission.access)",
            ]
        case .roleRevokePermission(let role, let key, let rangeEnd):
            [
                "role-name": "\(role)", "key": "\(String(decoding: key, as: UTF8.self))",
                "range-end": "\(String(decoding: rangeEnd, as: UTF8.self))",
            ]
        }
    }
}

extension EtcdServer {
    /// The header for work the member does itself that needs root once auth
    /// is on (etcd's `WithRoot`): revoking an expired lease whose keys may
    /// belong to anyone.
    func rootCaller() -> AuthHeader {
        AuthHeader(username: AuthStore.rootUser, revision: stateMachine.auth.revision)
    }
}
