import EtcdAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Synchronization
import Testing

/// etcd's Lock and Election gRPC services, through our generated client:
/// each scenario runs against etcd 3.4, swift-etcd's own gRPC server and
/// swift-etcd with grpc-swift's, checks what it must, and writes a
/// transcript — keys (lease IDs named, not numbered), revisions, values,
/// error codes and texts — that must be the same for all three.
@Suite(.serialized)
struct LockElectionTests {
    /// A server to run a scenario against.
    enum Server: String, CaseIterable, CustomStringConvertible {
        case etcd
        case swiftEtcd = "swift-etcd"
        case swiftEtcdGRPCSwift = "swift-etcd (grpc-swift)"

        var description: String { rawValue }

        func start() throws -> EtcdNode {
            let ports = (try Ports.free(), try Ports.free())
            switch self {
            case .etcd:
                return try EtcdNode(kind: .etcd, clientPort: ports.0, peerPort: ports.1)
            case .swiftEtcd:
                return try EtcdNode(kind: .swiftEtcd, clientPort: ports.0, peerPort: ports.1)
            case .swiftEtcdGRPCSwift:
                return try EtcdNode(
                    kind: .swiftEtcd, clientPort: ports.0, peerPort: ports.1,
                    environment: ["SWIFT_ETCD_GRPC_SERVER": "grpc-swift"])
            }
        }
    }

    @Test("Lock: the key is name/<lease in hex>; a second lease waits until Unlock or a revoke; a cancelled waiter's key goes; errors as etcd's")
    func lock() async throws {
        try await compareAcrossServers { server, client in
            var t = Transcript()
            let lock = V3lockpb_Lock.Client(wrapping: client)
            let kv = Etcdserverpb_KV.Client(wrapping: client)
            let leases = LeaseHelper(client: client)
            let a = try await leases.grant("A", into: &t)
            let b = try await leases.grant("B", into: &t)

            let held = try await lock.lock(.with { $0.name = Data("lk".utf8); $0.lease = a })
            #expect(held.key == Data("lk/\(String(a, radix: 16))".utf8), "\(server)")
            t.record("lock lk A: \(t.text(held.key)) at \(held.header.revision)")
            // The same lease again: its key is kept, and it holds already.
            let again = try await lock.lock(.with { $0.name = Data("lk".utf8); $0.lease = a })
            t.record("lock lk A again: \(t.text(again.key)) at \(again.header.revision)")

            let second = BackgroundCall { try await lock.lock(.with { $0.name = Data("lk".utf8); $0.lease = b }) }
            #expect(await second.outcome(within: .milliseconds(500)) == nil, "\(server): B got a held lock")
            t.record("waiters: \(try await Self.keys(under: "lk/", kv: kv, t))")
            let unlocked = try await lock.unlock(.with { $0.key = held.key })
            t.record("unlock A: at \(unlocked.header.revision)")
            let acquired = try #require(await second.outcome(within: .seconds(5)), "\(server): B never got the lock").get()
            t.record("lock lk B: \(t.text(acquired.key)) at \(acquired.header.revision)")

            // A revoked holder's lease releases the lock.
            let c = try await leases.grant("C", into: &t)
            let d = try await leases.grant("D", into: &t)
            _ = try await lock.lock(.with { $0.name = Data("rv".utf8); $0.lease = c })
            let afterRevoke = BackgroundCall { try await lock.lock(.with { $0.name = Data("rv".utf8); $0.lease = d }) }
            #expect(await afterRevoke.outcome(within: .milliseconds(300)) == nil, "\(server)")
            try await leases.revoke(c)
            let byRevoke = try #require(await afterRevoke.outcome(within: .seconds(5)), "\(server): revoke released nothing").get()
            t.record("lock rv D after revoking C: \(t.text(byRevoke.key)) at \(byRevoke.header.revision)")

            // A waiter whose client gives up leaves no key behind.
            let e = try await leases.grant("E", into: &t)
            let f = try await leases.grant("F", into: &t)
            _ = try await lock.lock(.with { $0.name = Data("cx".utf8); $0.lease = e })
            var options = CallOptions.defaults
            options.timeout = .milliseconds(300)
            await #expect(throws: RPCError.self, "\(server): a waiter got a held lock") {
                _ = try await lock.lock(.with { $0.name = Data("cx".utf8); $0.lease = f }, options: options)
            }
            let left = try await Self.waitForKeys(under: "cx/", count: 1, kv: kv, t)
            t.record("after F gave up: \(left)")

            // No lease: the server grants one of 60 s for the lock.
            let unleased = try await lock.lock(.with { $0.name = Data("nl".utf8) })
            let granted = try #require(Int64(String(decoding: unleased.key.dropFirst(3), as: UTF8.self), radix: 16))
            t.name(granted, "G")
            t.record("lock nl without lease: \(t.text(unleased.key)) at \(unleased.header.revision), TTL \(try await leases.grantedTTL(granted))")

            t.record("lock with unknown lease: \(await Self.failure { _ = try await lock.lock(.with { $0.name = Data("lk".utf8); $0.lease = 12345 }) })")
            t.record("unlock without key: \(await Self.failure { _ = try await lock.unlock(V3lockpb_UnlockRequest()) })")
            return t
        }
    }

    @Test("Election: Leader, Campaign, Proclaim, Observe and Resign, a second campaigner after Resign, stale claims, errors as etcd's")
    func election() async throws {
        try await compareAcrossServers { server, client in
            var t = Transcript()
            let election = V3electionpb_Election.Client(wrapping: client)
            let leases = LeaseHelper(client: client)
            let a = try await leases.grant("A", into: &t)
            let b = try await leases.grant("B", into: &t)
            let name = Data("el".utf8)

            t.record("leader before any campaign: \(await Self.failure { _ = try await election.leader(.with { $0.name = name }) })")

            let observed = Collected<V3electionpb_LeaderResponse>()
            let observer = Task {
                try await election.observe(.with { $0.name = name }) { response in
                    for try await message in response.messages { observed.append(message) }
                }
            }
            defer { observer.cancel() }
            // Observe is under way once its first read was served; nothing
            // tells a client when, so give it a moment.
            try await Task.sleep(for: .milliseconds(300))

            let first = try await election.campaign(.with { $0.name = name; $0.lease = a; $0.value = Data("a1".utf8) })
            #expect(first.leader.key == Data("el/\(String(a, radix: 16))".utf8), "\(server)")
            #expect(first.leader.lease == a && first.leader.name == name, "\(server)")
            t.record("campaign A a1: \(t.describe(first.leader)) at \(first.header.revision)")
            t.record("leader: \(t.describe(try await election.leader(.with { $0.name = name })))")

            let proclaimed = try await election.proclaim(.with { $0.leader = first.leader; $0.value = Data("a2".utf8) })
            t.record("proclaim a2: at \(proclaimed.header.revision)")
            t.record("leader: \(t.describe(try await election.leader(.with { $0.name = name })))")

            let second = BackgroundCall {
                try await election.campaign(.with { $0.name = name; $0.lease = b; $0.value = Data("b1".utf8) })
            }
            #expect(await second.outcome(within: .milliseconds(500)) == nil, "\(server): B led beside A")
            // Campaigning again with the same lease keeps the key and
            // proclaims the new value.
            let resumed = try await election.campaign(.with { $0.name = name; $0.lease = a; $0.value = Data("a3".utf8) })
            t.record("campaign A a3 again: \(t.describe(resumed.leader)) at \(resumed.header.revision)")

            let resigned = try await election.resign(.with { $0.leader = first.leader })
            t.record("resign A: at \(resigned.header.revision)")
            let elected = try #require(await second.outcome(within: .seconds(5)), "\(server): B never led").get()
            t.record("campaign B b1: \(t.describe(elected.leader)) at \(elected.header.revision)")
            t.record("leader: \(t.describe(try await election.leader(.with { $0.name = name })))")

            // A campaigner whose client gives up leaves no key behind.
            var options = CallOptions.defaults
            options.timeout = .milliseconds(300)
            let c = try await leases.grant("C", into: &t)
            await #expect(throws: RPCError.self, "\(server): C led beside B") {
                _ = try await election.campaign(.with { $0.name = name; $0.lease = c; $0.value = Data("c1".utf8) }, options: options)
            }
            t.record("after C gave up: \(try await Self.waitForKeys(under: "el/", count: 1, kv: Etcdserverpb_KV.Client(wrapping: client), t))")

            t.record("proclaim with A's lapsed claim: \(await Self.failure { _ = try await election.proclaim(.with { $0.leader = first.leader; $0.value = Data("x".utf8) }) })")
            let lapsed = try await election.resign(.with { $0.leader = first.leader })
            t.record("resign with A's lapsed claim: at \(lapsed.header.revision)")
            t.record("proclaim without leader: \(await Self.failure { _ = try await election.proclaim(.with { $0.value = Data("x".utf8) }) })")
            t.record("resign without leader: \(await Self.failure { _ = try await election.resign(V3electionpb_ResignRequest()) })")
            t.record("campaign with unknown lease: \(await Self.failure { _ = try await election.campaign(.with { $0.name = name; $0.lease = 12345; $0.value = Data("u".utf8) }) })")

            // a1, a2, a3 from A; b1 once A resigned.
            let deadline = ContinuousClock.now + .seconds(5)
            while observed.all.count < 4 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            observer.cancel()
            for message in observed.all {
                t.record("observed: \(t.describe(message))")
            }
            #expect(
                observed.all.map { String(decoding: $0.kv.value, as: UTF8.self) } == ["a1", "a2", "a3", "b1"],
                "\(server)")
            return t
        }
    }

    @Test("In a three-member cluster, locks and campaigns through two followers wait for each other; Observe on a third member follows",
          arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func throughFollowers(kind: EtcdNode.Kind) async throws {
        try requireOracle()
        let cluster = try TestCluster(kind: kind, size: 3)
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "ready", "1"])
        let status = try cluster.ctl(["endpoint", "status"])
        // endpoint, ID, version, DB size, is leader, is learner, ...
        var found: [Int] = []
        for line in status.stdout.split(separator: "\n") {
            let fields = line.split(separator: ", ").map(String.init)
            guard fields.count > 4, fields[4] == "false", let port = fields[0].split(separator: ":").last else { continue }
            found += Int(port).map { [$0] } ?? []
        }
        let followers = found
        try #require(followers.count == 2, "\(status.stdout)")
        let leader = try #require(cluster.specs.map(\.clientPort).first { !followers.contains($0) })
        try await withEtcdClient(port: followers[0]) { first in
            try await withEtcdClient(port: followers[1]) { second in
                try await withEtcdClient(port: leader) { third in
                    let a = try await Etcdserverpb_Lease.Client(wrapping: first).leaseGrant(.with { $0.ttl = 60 }).id
                    let b = try await Etcdserverpb_Lease.Client(wrapping: second).leaseGrant(.with { $0.ttl = 60 }).id
                    let held = try await V3lockpb_Lock.Client(wrapping: first).lock(.with { $0.name = Data("lk".utf8); $0.lease = a })
                    let waiting = BackgroundCall {
                        try await V3lockpb_Lock.Client(wrapping: second).lock(.with { $0.name = Data("lk".utf8); $0.lease = b })
                    }
                    #expect(await waiting.outcome(within: .milliseconds(500)) == nil, "\(kind)")
                    _ = try await V3lockpb_Lock.Client(wrapping: third).unlock(.with { $0.key = held.key })
                    let acquired = try #require(await waiting.outcome(within: .seconds(5)), "\(kind)").get()
                    #expect(acquired.key == Data("lk/\(String(b, radix: 16))".utf8))

                    let observed = Collected<V3electionpb_LeaderResponse>()
                    let observer = Task {
                        try await V3electionpb_Election.Client(wrapping: third).observe(.with { $0.name = Data("el".utf8) }) {
                            for try await message in $0.messages { observed.append(message) }
                        }
                    }
                    defer { observer.cancel() }
                    let elected = try await V3electionpb_Election.Client(wrapping: first).campaign(.with {
                        $0.name = Data("el".utf8); $0.lease = a; $0.value = Data("one".utf8)
                    })
                    let next = BackgroundCall {
                        try await V3electionpb_Election.Client(wrapping: second).campaign(.with {
                            $0.name = Data("el".utf8); $0.lease = b; $0.value = Data("two".utf8)
                        })
                    }
                    #expect(await next.outcome(within: .milliseconds(500)) == nil, "\(kind)")
                    _ = try await V3electionpb_Election.Client(wrapping: second).resign(.with { $0.leader = elected.leader })
                    _ = try #require(await next.outcome(within: .seconds(5)), "\(kind)").get()
                    let deadline = ContinuousClock.now + .seconds(5)
                    while observed.all.count < 2 && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    #expect(observed.all.map { String(decoding: $0.kv.value, as: UTF8.self) } == ["one", "two"], "\(kind)")
                }
            }
        }
    }

    @Test("With auth on, Lock and Election act with the caller's permissions, refused with etcd's errors (JSON gateway)")
    func auth() throws {
        try requireOracle()
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        var outputs: [Server: [String]] = [:]
        for server in [Server.etcd, .swiftEtcd] {
            let node = try server.start()
            defer { node.stop() }
            for command in [
                ["user", "add", "root:rootpw"], ["role", "add", "r"],
                ["role", "grant-permission", "r", "readwrite", "lk/", "--prefix"],
                ["role", "grant-permission", "r", "read", "el/", "--prefix"],
                ["user", "add", "u:upw"], ["user", "grant-role", "u", "r"], ["auth", "enable"],
                ["--user=root:rootpw", "lease", "grant", "100"],
            ] {
                let result = try node.ctl(command)
                #expect(result.exitCode == 0, "\(server): \(command): \(result.stderr)")
            }
            let lease = try #require(try node.ctl(["--user=root:rootpw", "lease", "list"]).stdout.split(separator: "\n").last)
            let leaseID = try #require(Int64(lease, radix: 16))
            let url = "http://\(node.endpoint)"
            let authenticated = try Curl.request("POST", url + "/v3/auth/authenticate", body: #"{"name":"u","password":"upw"}"#)
            let token = try #require(
                (try JSONSerialization.jsonObject(with: Data(authenticated.body.utf8)) as? [String: Any])?["token"] as? String)
            func post(_ path: String, _ body: String, asUser: Bool = true) throws -> String {
                let result = try Curl.request(
                    "POST", url + path, body: body, options: asUser ? ["-H", "Authorization: \(token)"] : [])
                // The key names the lease, whose ID differs between servers.
                let normalized = JSONNormalizer.normalize(result.body)
                    .replacingOccurrences(of: base64("lk/\(String(leaseID, radix: 16))"), with: "<lk/lease>")
                return "\(path) \(result.status) \(normalized)"
            }
            outputs[server] = [
                try post("/v3/lock/lock", #"{"name":"\#(base64("lk"))","lease":\#(leaseID)}"#),
                try post("/v3/lock/lock", #"{"name":"\#(base64("other"))","lease":\#(leaseID)}"#),
                try post("/v3/lock/lock", #"{"name":"\#(base64("lk"))","lease":\#(leaseID)}"#, asUser: false),
                try post("/v3/election/leader", #"{"name":"\#(base64("el"))"}"#),
                try post("/v3/election/campaign", #"{"name":"\#(base64("el"))","lease":\#(leaseID),"value":"eA=="}"#),
                try post("/v3/election/leader", #"{"name":"\#(base64("no"))"}"#),
                // etcd's Observe ends without a word when it may not read.
                try post("/v3/election/observe", #"{"name":"\#(base64("no"))"}"#),
            ]
        }
        #expect(outputs[.swiftEtcd] == outputs[.etcd])
        #expect(outputs[.etcd]?[1].contains("etcdserver: permission denied") == true, "\(outputs[.etcd] ?? [])")
    }

    @Test("etcdctl lock and elect (clientv3's own recipes) work as with etcd")
    func etcdctlRecipes() async throws {
        try requireOracle()
        var outputs: [Server: [String]] = [:]
        for server in [Server.etcd, .swiftEtcd] {
            let node = try server.start()
            defer { node.stop() }
            var lines: [String] = []
            let locked = try node.ctl(["lock", "lk", "echo", "held"])
            lines.append("lock: exit \(locked.exitCode) \(locked.stdout)")
            let campaigner = try node.background(["elect", "el", "p1"])
            defer { campaigner.stop() }
            let observer = try node.background(["elect", "-l", "el"])
            let seen = observer.finish(waitingFor: "p1", timeout: .seconds(10))
            lines.append("elect -l: \(Self.withoutLeaseHex(seen.stdout))")
            let leader = campaigner.finish(waitingFor: "p1", timeout: .seconds(5))
            lines.append("elect: \(Self.withoutLeaseHex(leader.stdout))")
            outputs[server] = lines
        }
        #expect(outputs[.swiftEtcd] == outputs[.etcd])
        #expect(outputs[.etcd]?.first == "lock: exit 0 held\n")
    }

    // MARK: Helpers

    /// Runs `scenario` against each server with a fresh member, and
    /// expects every transcript to be etcd's.
    private func compareAcrossServers(
        _ scenario: @Sendable (Server, GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Transcript
    ) async throws {
        try requireOracle()
        var transcripts: [Server: Transcript] = [:]
        for server in Server.allCases {
            let node = try server.start()
            defer { node.stop() }
            transcripts[server] = try await withEtcdClient(port: node.clientPort) { client in
                try await scenario(server, client)
            }
            // Nothing waits any more: no watcher is left behind (etcd counts
            // its own services' watchers there too).
            #expect(
                try GatewayTests.waitForGauge("etcd_debugging_mvcc_watcher_total", at: "http://\(node.endpoint)", toBe: 0),
                "\(server) kept watchers")
        }
        let expected = try #require(transcripts[.etcd]).lines
        #expect(expected.count > 5)
        for server in Server.allCases where server != .etcd {
            let actual = transcripts[server]?.lines ?? []
            let differences = zip(expected, actual).filter { $0 != $1 }.map { "etcd:  \($0)\nours:  \($1)" }
            #expect(
                actual == expected,
                "\(server) differs from etcd in \(differences.count) lines:\n\(differences.joined(separator: "\n"))\nall of etcd's:\n\(expected.joined(separator: "\n"))")
        }
    }

    /// `code message` of the error `body` fails with, or `ok`.
    static func failure(_ body: () async throws -> Void) async -> String {
        do {
            try await body()
            return "ok"
        } catch let error as RPCError {
            return "\(error.code) \(error.message)"
        } catch {
            return "\(error)"
        }
    }

    static func keys(under prefix: String, kv: Etcdserverpb_KV.Client<HTTP2ClientTransport.Posix>, _ t: Transcript) async throws -> String {
        var end = Array(prefix.utf8)
        end[end.count - 1] += 1
        let response = try await kv.range(.with { $0.key = Data(prefix.utf8); $0.rangeEnd = Data(end) })
        return response.kvs.map { "\(t.text($0.key)) created \($0.createRevision)" }.joined(separator: ", ")
    }

    /// The keys under `prefix` once there are `count` (within 5 s).
    static func waitForKeys(
        under prefix: String, count: Int, kv: Etcdserverpb_KV.Client<HTTP2ClientTransport.Posix>, _ t: Transcript
    ) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(5)
        var keys = try await Self.keys(under: prefix, kv: kv, t)
        while keys.split(separator: ",").count != count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            keys = try await Self.keys(under: prefix, kv: kv, t)
        }
        return keys
    }

    /// etcdctl prints a campaigner's key, `name/<lease in hex>`.
    static func withoutLeaseHex(_ text: String) -> String {
        text.replacing(/\/[0-9a-f]+\n/, with: "/<lease>\n")
    }
}

/// What a scenario saw, with lease IDs replaced by the names it gave them.
struct Transcript: Sendable {
    private(set) var lines: [String] = []
    private var names: [String: String] = [:]

    mutating func name(_ lease: Int64, _ label: String) {
        names[String(lease, radix: 16)] = label
    }

    mutating func record(_ line: String) { lines.append(line) }

    /// A key, its lease part named.
    func text(_ key: Data) -> String {
        var text = String(decoding: key, as: UTF8.self)
        if let slash = text.lastIndex(of: "/"), let label = names[String(text[text.index(after: slash)...])] {
            text = String(text[...slash]) + "<\(label)>"
        }
        return text
    }

    func lease(_ id: Int64) -> String { names[String(id, radix: 16)].map { "<\($0)>" } ?? "\(id)" }

    func describe(_ leader: V3electionpb_LeaderKey) -> String {
        "name \(String(decoding: leader.name, as: UTF8.self)) key \(text(leader.key)) rev \(leader.rev) lease \(lease(leader.lease))"
    }

    func describe(_ response: V3electionpb_LeaderResponse) -> String {
        let kv = response.kv
        return "\(text(kv.key)) = \(String(decoding: kv.value, as: UTF8.self)) created \(kv.createRevision) "
            + "modified \(kv.modRevision) version \(kv.version) lease \(lease(kv.lease)) at \(response.header.revision)"
    }
}

/// Leases for a scenario, named in its transcript.
struct LeaseHelper: Sendable {
    let lease: Etcdserverpb_Lease.Client<HTTP2ClientTransport.Posix>

    init(client: GRPCClient<HTTP2ClientTransport.Posix>) {
        lease = Etcdserverpb_Lease.Client(wrapping: client)
    }

    func grant(_ label: String, into t: inout Transcript) async throws -> Int64 {
        let id = try await lease.leaseGrant(.with { $0.ttl = 60 }).id
        t.name(id, label)
        return id
    }

    func revoke(_ id: Int64) async throws {
        _ = try await lease.leaseRevoke(.with { $0.id = id })
    }

    func grantedTTL(_ id: Int64) async throws -> Int64 {
        try await lease.leaseTimeToLive(.with { $0.id = id }).grantedTtl
    }
}

/// A call left running while the test goes on, whose outcome the test
/// can wait for with a deadline (and wait for again later).
final class BackgroundCall<T: Sendable>: Sendable {
    private let task: Task<T, any Error>

    init(_ body: @escaping @Sendable () async throws -> T) {
        task = Task { try await body() }
    }

    deinit { task.cancel() }

    /// The call's result, or nil if it is still running after `timeout`.
    func outcome(within timeout: Duration) async -> Result<T, any Error>? {
        let (stream, continuation) = AsyncStream<Result<T, any Error>?>.makeStream()
        let task = task
        let waiter = Task {
            continuation.yield(await task.result)
            continuation.finish()
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            continuation.yield(nil)
            continuation.finish()
        }
        var first: Result<T, any Error>?? = nil
        for await outcome in stream {
            first = outcome
            break
        }
        timer.cancel()
        _ = waiter
        return first ?? nil
    }
}

/// Messages a stream delivered, appended by its task, read by the test.
final class Collected<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])

    func append(_ item: T) { items.withLock { $0.append(item) } }

    var all: [T] { items.withLock { $0 } }
}
