import EtcdAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Testing

/// Simple tokens over the wire, against etcd 3.4 and swift-etcd alike: their
/// shape, the `token` metadata, renewal by use, expiry after
/// `--auth-token-ttl` without use, and invalidation when the user goes.
@Suite(.serialized)
struct AuthTokenTests {
    @Test("simple tokens: shape, use, renewal, expiry and invalidation, as in etcd",
          arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func simpleTokens(kind: EtcdNode.Kind) async throws {
        try requireOracle()
        let node = try EtcdNode(
            kind: kind, clientPort: try Ports.free(), peerPort: try Ports.free(), arguments: ["--auth-token-ttl=2"])
        defer { node.stop() }
        for command in [
            ["user", "add", "root:rootpw", "--interactive=false"], ["user", "grant-role", "root", "root"],
            ["user", "add", "alice:alicepw", "--interactive=false"], ["role", "add", "r"],
            ["role", "grant-permission", "r", "read", "k"], ["user", "grant-role", "alice", "r"],
            ["put", "k", "v"], ["auth", "enable"],
        ] {
            let r = try node.ctl(command)
            #expect(r.exitCode == 0, "\(command): \(r.stderr)")
        }
        try await withEtcdClient(port: node.clientPort) { client in
            let auth = Etcdserverpb_Auth.Client(wrapping: client)
            let kv = Etcdserverpb_KV.Client(wrapping: client)
            let get = Etcdserverpb_RangeRequest.with { $0.key = Data("k".utf8) }

            let token = try await auth.authenticate(.with { $0.name = "alice"; $0.password = "alicepw" }).token
            #expect(token.wholeMatch(of: /[a-zA-Z]{16}\.[0-9]+/) != nil, "\(token)")
            #expect(try await kv.range(get, metadata: ["token": .string(token)]).kvs.count == 1)

            // Unknown and malformed tokens.
            for bogus in ["abcdefghijklmnop.1", "garbage", "a.b.c"] {
                await Self.expectError(.unauthenticated, "etcdserver: invalid auth token") {
                    _ = try await kv.range(get, metadata: ["token": .string(bogus)])
                }
            }
            // No token: no user.
            await Self.expectError(.invalidArgument, "etcdserver: user name is empty") { _ = try await kv.range(get) }
            // A wrong password.
            await Self.expectError(.invalidArgument, "etcdserver: authentication failed, invalid user ID or password") {
                _ = try await auth.authenticate(.with { $0.name = "alice"; $0.password = "nope" })
            }

            // Each use renews the token: used every second, it outlives its TTL.
            for _ in 0..<4 {
                try await Task.sleep(for: .seconds(1))
                #expect(try await kv.range(get, metadata: ["token": .string(token)]).kvs.count == 1)
            }
            // Unused for longer than the TTL, it is gone.
            try await Task.sleep(for: .seconds(3.5))
            await Self.expectError(.unauthenticated, "etcdserver: invalid auth token") {
                _ = try await kv.range(get, metadata: ["token": .string(token)])
            }

            // Deleting the user drops its tokens at once.
            let fresh = try await auth.authenticate(.with { $0.name = "alice"; $0.password = "alicepw" }).token
            let root = try await auth.authenticate(.with { $0.name = "root"; $0.password = "rootpw" }).token
            _ = try await auth.userDelete(.with { $0.name = "alice" }, metadata: ["token": .string(root)])
            await Self.expectError(.unauthenticated, "etcdserver: invalid auth token") {
                _ = try await kv.range(get, metadata: ["token": .string(fresh)])
            }
        }
    }

    @Test("a bad --auth-token stops the server at start with etcd's reason and exit code")
    func badAuthTokenFlag() throws {
        try requireOracle()
        guard let ours = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built") }
        let dir = try Paths.makeTempDirectory("auth-token-flag")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Ports of its own: etcd binds its listeners before it checks the
        // option, and the default ones may be taken on this machine.
        let client = "http://127.0.0.1:\(try Ports.free())"
        let peer = "http://127.0.0.1:\(try Ports.free())"
        let arguments = [
            "--auth-token=bogus", "--data-dir", dir.appendingPathComponent("data").path,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=\(peer)",
        ]
        let expected = try ChildProcess.run(Paths.etcd, arguments, timeout: .seconds(10))
        let actual = try ChildProcess.run(ours, arguments, timeout: .seconds(10))
        #expect(expected.exitCode == 1)
        #expect(actual.exitCode == expected.exitCode)
        #expect(expected.stderr.contains("auth: invalid auth options"))
        #expect(actual.stderr.contains("auth: invalid auth options"), "\(actual.stderr)")
    }

    static func expectError(
        _ code: RPCError.Code, _ message: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("expected \(code): \(message)", sourceLocation: sourceLocation)
        } catch let error as RPCError {
            #expect(error.code == code, sourceLocation: sourceLocation)
            #expect(error.message == message, sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }
}
