import Testing
@testable import EtcdServer

/// The replicated auth store applies etcd 3.4's rules: auth needs a root
/// user with the root role, root cannot be locked out while auth is on,
/// and each management error is etcd's.
@Suite struct AuthStoreTests {
    static func hash(_ password: String) throws -> PasswordHashRecord {
        // Few rounds: these tests check the rules, not the hash's cost.
        PasswordHashRecord(hash: try PasswordHash.make(password: password, salt: Array(repeating: 1, count: 16), rounds: 1000))
    }

    static func apply(_ store: inout AuthStore, _ commands: [AuthCommand]) throws {
        for command in commands { _ = try store.apply(command).get() }
    }

    static func enabledStore() throws -> AuthStore {
        var store = AuthStore()
        try apply(&store, [
            .userAdd(name: "root", password: hash("rootpw"), noPassword: false),
            .userGrantRole(user: "root", role: "root"),
            .userAdd(name: "alice", password: hash("alicepw"), noPassword: false),
            .roleAdd(name: "reader"),
            .userGrantRole(user: "alice", role: "reader"),
            .enable,
        ])
        return store
    }

    @Test func enableNeedsRootUserWithRootRole() throws {
        var store = AuthStore()
        #expect(store.apply(.enable) == .failure(.rootUserNotExist))
        try Self.apply(&store, [.userAdd(name: "root", password: Self.hash("pw"), noPassword: false)])
        #expect(store.apply(.enable) == .failure(.rootRoleNotExist))
        // `root` may be granted before a role of that name exists.
        try Self.apply(&store, [.userGrantRole(user: "root", role: "root")])
        #expect(store.apply(.enable) == .success(.done))
        #expect(store.isEnabled)
        // Enabling twice is not an error.
        #expect(store.apply(.enable) == .success(.done))
    }

    @Test func rootCannotBeLockedOutWhileEnabled() throws {
        var store = try Self.enabledStore()
        #expect(store.apply(.userDelete(name: "root")) == .failure(.invalidAuthManagement))
        #expect(store.apply(.userRevokeRole(user: "root", role: "root")) == .failure(.invalidAuthManagement))
        #expect(store.apply(.roleDelete(name: "root")) == .failure(.invalidAuthManagement))
        // Once disabled, they are ordinary operations.
        try Self.apply(&store, [.disable])
        #expect(store.apply(.userRevokeRole(user: "root", role: "root")) == .success(.done))
        #expect(store.apply(.userDelete(name: "root")) == .success(.done))
    }

    @Test func userAndRoleErrorsAreEtcds() throws {
        var store = AuthStore()
        #expect(try store.apply(.userAdd(name: "", password: Self.hash("x"), noPassword: false)) == .failure(.userEmpty))
        #expect(store.apply(.roleAdd(name: "")) == .failure(.roleEmpty))
        try Self.apply(&store, [.userAdd(name: "u", password: Self.hash("x"), noPassword: false), .roleAdd(name: "r")])
        #expect(try store.apply(.userAdd(name: "u", password: Self.hash("y"), noPassword: false)) == .failure(.userAlreadyExists))
        #expect(store.apply(.roleAdd(name: "r")) == .failure(.roleAlreadyExists))
        #expect(store.apply(.userDelete(name: "nobody")) == .failure(.userNotFound))
        #expect(try store.apply(.userChangePassword(name: "nobody", password: Self.hash("x"))) == .failure(.userNotFound))
        #expect(store.apply(.userGrantRole(user: "nobody", role: "r")) == .failure(.userNotFound))
        #expect(store.apply(.userGrantRole(user: "u", role: "nothing")) == .failure(.roleNotFound))
        #expect(store.apply(.userRevokeRole(user: "u", role: "r")) == .failure(.roleNotGranted))
        #expect(store.apply(.roleDelete(name: "nothing")) == .failure(.roleNotFound))
        let permission = KeyPermission(access: .read, key: Array("k".utf8), rangeEnd: [])
        #expect(store.apply(.roleGrantPermission(role: "nothing", permission: permission)) == .failure(.roleNotFound))
        #expect(store.apply(.roleRevokePermission(role: "r", key: Array("k".utf8), rangeEnd: [])) == .failure(.permissionNotGranted))
    }

    @Test func revisionGrowsWithEachChange() throws {
        var store = AuthStore()
        #expect(store.revision == 1)
        try Self.apply(&store, [.roleAdd(name: "r")])
        #expect(store.revision == 2)
        // A repeated grant changes nothing and keeps the revision (etcd).
        try Self.apply(&store, [.userAdd(name: "u", password: nil, noPassword: true), .userGrantRole(user: "u", role: "r")])
        let revision = store.revision
        try Self.apply(&store, [.userGrantRole(user: "u", role: "r")])
        #expect(store.revision == revision)
        // A failed command changes nothing either.
        _ = store.apply(.roleAdd(name: "r"))
        #expect(store.revision == revision)
    }

    @Test func grantingTheSameRangeAgainChangesItsAccess() throws {
        var store = AuthStore()
        let key = Array("k".utf8)
        try Self.apply(&store, [
            .roleAdd(name: "r"),
            .roleGrantPermission(role: "r", permission: KeyPermission(access: .read, key: key, rangeEnd: [])),
            .roleGrantPermission(role: "r", permission: KeyPermission(access: .readWrite, key: key, rangeEnd: [])),
            .roleGrantPermission(role: "r", permission: KeyPermission(access: .write, key: Array("a".utf8), rangeEnd: Array("b".utf8))),
        ])
        let permissions = try #require(store.roles["r"]).permissions
        #expect(permissions == [
            KeyPermission(access: .write, key: Array("a".utf8), rangeEnd: Array("b".utf8)),
            KeyPermission(access: .readWrite, key: key, rangeEnd: []),
        ])
    }

    @Test func deletingARoleTakesItFromUsers() throws {
        var store = try Self.enabledStore()
        try Self.apply(&store, [.roleDelete(name: "reader")])
        #expect(store.users["alice"]?.roles == [])
        #expect(store.roles["reader"] == nil)
    }

    @Test func rolesStaySorted() throws {
        var store = AuthStore()
        try Self.apply(&store, [
            .userAdd(name: "u", password: nil, noPassword: true),
            .roleAdd(name: "zeta"), .roleAdd(name: "alpha"), .roleAdd(name: "mid"),
            .userGrantRole(user: "u", role: "zeta"), .userGrantRole(user: "u", role: "alpha"),
            .userGrantRole(user: "u", role: "mid"),
        ])
        #expect(store.users["u"]?.roles == ["alpha", "mid", "zeta"])
        #expect(store.roleNames == ["alpha", "mid", "zeta"])
    }

    @Test func authenticateNeedsAuthOnAndAPasswordUser() throws {
        var store = AuthStore()
        try Self.apply(&store, [.userAdd(name: "nopw", password: nil, noPassword: true)])
        #expect(store.apply(.authenticate(name: "nopw", tokenPrefix: "p")) == .failure(.authNotEnabled))
        try Self.apply(&store, [
            .userAdd(name: "root", password: Self.hash("pw"), noPassword: false),
            .userGrantRole(user: "root", role: "root"), .enable,
        ])
        #expect(store.apply(.authenticate(name: "nopw", tokenPrefix: "p")) == .failure(.authFailed))
        #expect(store.apply(.authenticate(name: "ghost", tokenPrefix: "p")) == .failure(.authFailed))
        #expect(store.apply(.authenticate(name: "root", tokenPrefix: "p")) == .success(.authenticated(name: "root", tokenPrefix: "p")))
    }

    @Test func callerChecksFollowEtcd() throws {
        var store = try Self.enabledStore()
        let key = Array("k".utf8)
        // No user at all.
        #expect(throws: EtcdError.userEmpty) { try store.checkPermission(nil, key: key, access: .read) }
        #expect(throws: EtcdError.userEmpty) { try store.checkAdmin(nil) }
        // A user the store does not know.
        let ghost = AuthHeader(username: "ghost", revision: store.revision)
        #expect(throws: EtcdError.permissionDenied) { try store.checkPermission(ghost, key: key, access: .read) }
        #expect(throws: EtcdError.userNotFound) { try store.checkAdmin(ghost) }
        // Root may do anything; alice, only what her roles grant.
        let root = AuthHeader(username: "root", revision: store.revision)
        try store.checkPermission(root, key: key, access: .write)
        try store.checkAdmin(root)
        let alice = AuthHeader(username: "alice", revision: store.revision)
        #expect(throws: EtcdError.permissionDenied) { try store.checkAdmin(alice) }
        #expect(throws: EtcdError.permissionDenied) { try store.checkPermission(alice, key: key, access: .read) }
        try Self.apply(&store, [.roleGrantPermission(role: "reader", permission: KeyPermission(access: .read, key: key, rangeEnd: []))])
        // Alice's header predates that change: she must come again.
        #expect(throws: EtcdError.authOldRevision) { try store.checkPermission(alice, key: key, access: .read) }
        let fresh = AuthHeader(username: "alice", revision: store.revision)
        try store.checkPermission(fresh, key: key, access: .read)
        #expect(throws: EtcdError.permissionDenied) { try store.checkPermission(fresh, key: key, access: .write) }
    }

    @Test func everythingIsAllowedWhileDisabled() throws {
        let store = AuthStore()
        try store.checkPermission(nil, key: Array("k".utf8), access: .write)
        try store.checkAdmin(nil)
    }
}
