import Logging
import MVCC
import Testing
@testable import EtcdServer

/// The server's side of auth on an in-memory member: the caller comes from
/// the request's credentials (a token, or a TLS certificate's common name),
/// reads and writes are checked for it, and refused watches get etcd's
/// cancel reason.
@Suite struct EtcdServerAuthTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// A single member with root (password "rootpw") and alice (who may read
    /// and write `app/*`), auth enabled.
    static func server() async throws -> EtcdServer {
        var config = ServerConfig()
        config.listenPeerURLs = []
        let server = EtcdServer(config: config, logger: Logger(label: "auth-test"))
        await server.startRaft()
        _ = try await server.userAdd(name: "root", password: "rootpw", noPassword: false)
        _ = try await server.userGrantRole(user: "root", role: "root")
        _ = try await server.userAdd(name: "alice", password: "", noPassword: true)
        _ = try await server.roleAdd(name: "app")
        _ = try await server.roleGrantPermission(
            role: "app", permission: KeyPermission(access: .readWrite, key: b("app/"), rangeEnd: b("app0")))
        _ = try await server.userGrantRole(user: "alice", role: "app")
        _ = try await server.authEnable()
        return server
    }

    static func `as`<T: Sendable>(
        _ credentials: RequestCredentials?, _ body: () async throws -> T
    ) async rethrows -> T {
        try await RequestCredentials.$current.withValue(credentials) { try await body() }
    }

    @Test func aCertificateCommonNameIsTheUserWhenThereIsNoToken() async throws {
        let server = try await Self.server()
        let alice = RequestCredentials(commonName: "alice")
        _ = try await Self.as(alice) { try await server.put(PutRequest(key: Self.b("app/a"), value: Self.b("1"))) }
        let (read, _) = try await Self.as(alice) { try await server.range(RangeRequest(key: Self.b("app/a"))) }
        #expect(read.kvs.map(\.value) == [Self.b("1")])
        await #expect(throws: EtcdError.permissionDenied) {
            _ = try await Self.as(alice) { try await server.put(PutRequest(key: Self.b("other"), value: Self.b("1"))) }
        }
        await #expect(throws: EtcdError.permissionDenied) {
            _ = try await Self.as(alice) { try await server.userList() }
        }
        let (users, _) = try await Self.as(RequestCredentials(commonName: "root")) { try await server.userList() }
        #expect(users == ["alice", "root"])
    }

    @Test func tokensAuthenticateAndUnknownOnesAreRefused() async throws {
        let server = try await Self.server()
        let (token, _) = try await server.authenticate(name: "root", password: "rootpw")
        #expect(SimpleTokenStore.index(of: token) != nil)
        _ = try await Self.as(RequestCredentials(token: token)) {
            try await server.put(PutRequest(key: Self.b("anything"), value: Self.b("1")))
        }
        await #expect(throws: EtcdError.invalidAuthToken) {
            _ = try await Self.as(RequestCredentials(token: "abcdefghijklmnop.1")) {
                try await server.range(RangeRequest(key: Self.b("anything")))
            }
        }
        // A token wins over a common name, as in etcd.
        await #expect(throws: EtcdError.invalidAuthToken) {
            _ = try await Self.as(RequestCredentials(token: "bogus", commonName: "root")) { try await server.userList() }
        }
        await #expect(throws: EtcdError.authFailed) { _ = try await server.authenticate(name: "root", password: "nope") }
        await #expect(throws: EtcdError.untranslated("auth: authentication failed, password was given for no password user")) {
            _ = try await server.authenticate(name: "alice", password: "x")
        }
        // Anonymous requests have no user.
        await #expect(throws: EtcdError.userEmpty) {
            _ = try await server.range(RangeRequest(key: Self.b("anything")))
        }
    }

    @Test func disablingAuthDropsTokens() async throws {
        let server = try await Self.server()
        let (token, _) = try await server.authenticate(name: "root", password: "rootpw")
        _ = try await Self.as(RequestCredentials(token: token)) { try await server.authDisable() }
        await #expect(throws: EtcdError.invalidAuthToken) {
            _ = try await Self.as(RequestCredentials(token: token)) { try await server.range(RangeRequest(key: Self.b("k"))) }
        }
        // Without a token everything is allowed again.
        _ = try await server.put(PutRequest(key: Self.b("k"), value: Self.b("v")))
    }

    @Test func refusedWatchesAreCreatedAndCanceledWithEtcdsReason() async throws {
        let server = try await Self.server()
        let (stream, _) = await server.openWatchStream()
        await Self.as(RequestCredentials(commonName: "alice")) {
            await server.createWatchIfPermitted(
                WatchCreateRequest(range: KeyRange(key: Self.b("secret"), rangeEnd: [])), on: stream)
            await server.createWatchIfPermitted(
                WatchCreateRequest(range: KeyRange(key: Self.b("app/"), rangeEnd: Self.b("app0"))), on: stream)
        }
        let (responses, _) = await server.drainWatch(stream)
        #expect(responses.count == 2)
        #expect(responses.first?.canceled == true && responses.first?.created == true)
        #expect(responses.first?.watchID == -1)
        #expect(responses.first?.cancelReason == "rpc error: code = PermissionDenied desc = etcdserver: permission denied")
        #expect(responses.last?.canceled == false && responses.last?.created == true)
        await server.closeWatchStream(stream)
    }

    @Test func passwordsAreHashedBeforeTheyAreProposed() async throws {
        let server = try await Self.server()
        let stored = try #require(await server.stateMachine.auth.users["root"]?.password)
        #expect(stored.matches("rootpw"))
        #expect(stored.rounds >= PasswordHash.defaultRounds)
        #expect(!stored.digest.isEmpty && stored.digest != Self.b("rootpw"))
    }
}
