import Foundation
import Testing

/// Mutual TLS on the client and peer URLs, with certificates `openssl`
/// makes for each test. The client cases run against real etcd 3.4 too and
/// must end the same way in stock etcdctl (exit code, gRPC code, error
/// line); the cluster runs with https peer URLs and peer client-cert auth.
@Suite(.serialized)
struct TLSTests {
    // MARK: Client TLS

    /// How etcdctl ended: what the tests compare between etcd and swift-etcd.
    struct Outcome: Equatable, CustomStringConvertible {
        var exitCode: Int32
        /// The gRPC status of etcdctl's warning line (`code = … desc = …`).
        var status: String
        /// The last line of stderr (`Error: …`).
        var error: String

        init(_ r: CommandResult) {
            exitCode = r.exitCode
            status = r.stderr.firstMatch(of: /code = [A-Za-z]+ desc = [^"]*/).map { String($0.0) } ?? ""
            error = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
        }

        var description: String { "exit \(exitCode), status \"\(status)\", \"\(error)\"" }
    }

    /// Client mTLS refusals by one kind of server: put and get work with
    /// the CA's client certificate; no certificate, a foreign one and plain
    /// http are refused.
    static func clientOutcomes(kind: EtcdNode.Kind, pki: TestPKI) throws -> [String: Outcome] {
        let node = try TLSNode(kind: kind, arguments: pki.clientServerArguments, ctlTLS: pki.ctlArguments)
        defer { node.stop() }
        let put = try node.ctl(["put", "secure", "yes"], tls: pki.ctlArguments)
        #expect(put.exitCode == 0 && put.stdout == "OK\n", "\(kind.rawValue) put: \(put.stderr)")
        let get = try node.ctl(["get", "secure", "--print-value-only"], tls: pki.ctlArguments)
        #expect(get.stdout == "yes\n", "\(kind.rawValue) get: \(get.stderr)")

        var outcomes: [String: Outcome] = [:]
        outcomes["no client certificate"] = Outcome(try node.ctl(["put", "k", "v"], tls: ["--cacert=\(pki.caFile)"]))
        outcomes["foreign client certificate"] = Outcome(
            try node.ctl(
                ["put", "k", "v"], tls: ["--cacert=\(pki.caFile)", "--cert=\(pki.foreignCert)", "--key=\(pki.foreignKey)"]))
        outcomes["plain http"] = Outcome(try node.ctl(["put", "k", "v"], endpoint: "http://127.0.0.1:\(node.clientPort)"))
        // Nothing refused was written.
        let after = try node.ctl(["get", "k", "--print-value-only"], tls: pki.ctlArguments)
        #expect(after.exitCode == 0 && after.stdout.isEmpty, "\(kind.rawValue): \(after.stdout)")
        #expect(node.log.contains("rejected connection"), "\(kind.rawValue) logs refused handshakes")
        return outcomes
    }

    @Test("client mTLS: etcdctl --cacert --cert --key works; no, foreign or plain-http clients are refused as by etcd")
    func clientMutualTLS() throws {
        try requireOracle()
        let pki = try TestPKI()
        defer { pki.remove() }
        let expected = try Self.clientOutcomes(kind: .etcd, pki: pki)
        let actual = try Self.clientOutcomes(kind: .swiftEtcd, pki: pki)
        #expect(expected.count == 3)
        for (name, outcome) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(outcome.exitCode != 0, "etcd refuses \(name)")
            #expect(actual[name] == outcome, "\(name): etcd \(outcome), swift-etcd \(actual[name].map(\.description) ?? "-")")
        }
    }

    /// With `--client-cert-auth` and auth on, a call without a token is
    /// made by the user its certificate's common name names.
    static func commonNameOutcomes(kind: EtcdNode.Kind, pki: TestPKI) throws -> [String] {
        let node = try TLSNode(kind: kind, arguments: pki.clientServerArguments, ctlTLS: pki.ctlArguments)
        defer { node.stop() }
        let tls = pki.ctlArguments
        var out: [String] = []
        for args in [["user", "add", "root:rootpw", "--interactive=false"], ["user", "grant-role", "root", "root"],
                     ["auth", "enable"]] {
            let r = try node.ctl(args, tls: tls)
            out.append("\(args): \(r.exitCode) \(r.stdout)")
        }
        // The client certificate says CN=root: no --user needed.
        let asRoot = try node.ctl(["put", "cn", "root"], tls: tls)
        out.append("as root: \(asRoot.exitCode) \(asRoot.stdout)")
        // The server certificate (CN=swift-etcd) names no user.
        let stranger = try node.ctl(
            ["put", "cn", "stranger"], tls: ["--cacert=\(pki.caFile)", "--cert=\(pki.serverCert)", "--key=\(pki.serverKey)"])
        out.append("as stranger: \(stranger.exitCode) \(stranger.stderr.split(separator: "\n").last ?? "")")
        let read = try node.ctl(["get", "cn", "--print-value-only"], tls: tls)
        out.append("read: \(read.stdout)")
        return out
    }

    @Test("--client-cert-auth with auth enabled: the certificate's common name is the user, as in etcd")
    func commonNameIsTheUser() throws {
        try requireOracle()
        let pki = try TestPKI()
        defer { pki.remove() }
        let expected = try Self.commonNameOutcomes(kind: .etcd, pki: pki)
        let actual = try Self.commonNameOutcomes(kind: .swiftEtcd, pki: pki)
        #expect(actual == expected)
        #expect(expected.contains("as root: 0 OK\n"))
    }

    @Test("--auto-tls: a self-signed certificate under <data-dir>/fixtures/client, as etcd makes it", arguments: [
        EtcdNode.Kind.etcd, .swiftEtcd,
    ])
    func autoTLS(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let insecure = ["--insecure-transport=false", "--insecure-skip-tls-verify"]
        let node = try TLSNode(kind: kind, arguments: ["--auto-tls"], ctlTLS: insecure)
        defer { node.stop() }
        let fixtures = node.dataDir.appendingPathComponent("data/fixtures/client")
        for file in ["cert.pem", "key.pem"] {
            #expect(FileManager.default.fileExists(atPath: fixtures.appendingPathComponent(file).path), "\(file)")
        }
        let put = try node.ctl(["put", "auto", "tls"], tls: insecure)
        #expect(put.exitCode == 0, "\(put.stderr)")
        // The certificate names the listen address and nobody signed it.
        let text = try ChildProcess.run(
            "/usr/bin/openssl", ["x509", "-in", fixtures.appendingPathComponent("cert.pem").path, "-noout", "-text"])
        #expect(text.stdout.contains("IP Address:127.0.0.1"))
        #expect(text.stdout.contains("O = etcd"))
        let verify = try node.ctl(["get", "auto"], tls: ["--insecure-transport=false"])
        #expect(verify.exitCode != 0, "an unverifiable certificate is refused without --insecure-skip-tls-verify")
    }

    /// Startup refusals, compared with etcd's error texts.
    static let badStarts: [(name: String, arguments: @Sendable (Int, Int) -> [String])] = [
        (
            "https client URL without a certificate",
            { client, peer in urls(client: "https://127.0.0.1:\(client)", peer: "http://127.0.0.1:\(peer)") }
        ),
        (
            "https peer URL without a certificate",
            { client, peer in urls(client: "http://127.0.0.1:\(client)", peer: "https://127.0.0.1:\(peer)") }
        ),
        (
            "unknown cipher suite",
            { client, peer in
                urls(client: "http://127.0.0.1:\(client)", peer: "http://127.0.0.1:\(peer)")
                    + ["--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_NO_SUCH_SUITE"]
            }
        ),
    ]

    static func urls(client: String, peer: String) -> [String] {
        [
            "--name", "n1", "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer, "--initial-cluster", "n1=\(peer)", "--logger", "zap",
        ]
    }

    @Test("bad TLS configurations stop the server with etcd's error", arguments: 0..<3)
    func badStart(index: Int) throws {
        try requireOracle()
        guard let ours = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built") }
        let (name, arguments) = Self.badStarts[index]
        // The same ports for both: etcd's error names the URL.
        let (clientPort, peerPort) = (try Ports.free(), try Ports.free())
        var results: [CommandResult] = []
        for binary in [Paths.etcd, ours] {
            let dir = try Paths.makeTempDirectory("tls-bad-start")
            defer { try? FileManager.default.removeItem(at: dir) }
            let args = arguments(clientPort, peerPort) + ["--data-dir", dir.appendingPathComponent("data").path]
            results.append(try ChildProcess.run(binary, args, timeout: .seconds(15)))
        }
        let (etcd, swiftEtcd) = (results[0], results[1])
        #expect(etcd.exitCode == 1, "\(name): etcd \(etcd.stderr.suffix(500))")
        #expect(swiftEtcd.exitCode == etcd.exitCode, "\(name): \(swiftEtcd.stderr.suffix(500))")
        let reason = try #require(
            etcd.stderr.firstMatch(of: /"msg":"failed to start etcd","error":"((?:[^"\\]|\\.)*)"/)?.1, "\(etcd.stderr)")
        #expect(swiftEtcd.stderr.contains(String(reason)), "\(name): etcd says \(reason); swift-etcd: \(swiftEtcd.stderr)")
        // Refused before the data directory was touched, as etcd does.
        #expect(!swiftEtcd.stderr.contains("starting member"))
    }

    @Test("--cipher-suites restricts TLS 1.2 to the listed suites, in etcd's names", arguments: [
        EtcdNode.Kind.etcd, .swiftEtcd,
    ])
    func cipherSuites(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let pki = try TestPKI()
        defer { pki.remove() }
        let node = try TLSNode(
            kind: kind,
            arguments: pki.clientServerArguments + pki.peerArguments() + [
                // Go's HTTP/2 server insists on an AES-128-GCM suite, so etcd needs one listed.
                "--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            ], ctlTLS: pki.ctlArguments, peerScheme: "https")
        defer { node.stop() }
        // Our certificates carry ECDSA keys, so only ECDSA suites can be chosen at all.
        func handshake(_ cipher: String, port: Int) throws -> CommandResult {
            try ChildProcess.run(
                "/usr/bin/openssl",
                [
                    "s_client", "-connect", "127.0.0.1:\(port)", "-tls1_2", "-cipher", cipher, "-cert",
                    pki.serverCert, "-key", pki.serverKey, "-CAfile", pki.caFile,
                ], stdin: Data(), timeout: .seconds(15))
        }
        // Both the peer port and the client port honour the list.
        for port in [node.peerPort, node.clientPort] {
            let listed = try handshake("ECDHE-ECDSA-AES256-GCM-SHA384", port: port)
            #expect(listed.stdout.contains("Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"), "\(kind.rawValue) \(port): \(listed.stderr)")
            let unlisted = try handshake("ECDHE-ECDSA-CHACHA20-POLY1305", port: port)
            #expect(unlisted.exitCode != 0, "\(kind.rawValue) \(port): \(unlisted.stdout)")
            #expect(!unlisted.stdout.contains("Cipher is ECDHE"), "\(kind.rawValue) \(port)")
        }
        // TLS 1.3 is not restricted (Go cannot restrict it either): etcdctl still works.
        #expect(try node.ctl(["put", "k", "v"], tls: pki.ctlArguments).exitCode == 0)
    }

    // MARK: Peer TLS

    @Test("--peer-auto-tls: three members on https peer URLs with generated certificates form a cluster", arguments: [
        EtcdNode.Kind.etcd, .swiftEtcd,
    ])
    func peerAutoTLS(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let cluster = try TestCluster(kind: kind, size: 3, extraArguments: ["--peer-auto-tls"], peerScheme: "https")
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "auto", "peer-tls"])
        for endpoint in cluster.endpoints {
            let r = try cluster.ctl(["get", "auto", "--print-value-only"], endpoints: [endpoint], until: { $0.stdout == "peer-tls\n" })
            #expect(r.exitCode == 0)
        }
        for name in ["node1", "node2", "node3"] {
            let cert = cluster.dataDir(name).appendingPathComponent("fixtures/peer/cert.pem").path
            #expect(FileManager.default.fileExists(atPath: cert), "\(name): \(cert)")
        }
    }

    @Test(
        "peer mTLS: three members on https peer URLs form, serve, forward lease keep-alives, survive kill-one; a foreign-CA rogue cannot join",
        arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func peerMutualTLS(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try TestCluster(
            kind: kind, size: 3, extraArguments: pki.peerArguments() + pki.clientServerArguments, clientScheme: "https",
            peerScheme: "https", ctlArguments: pki.ctlArguments)
        defer { cluster.stop() }
        let members = cluster.endpoints
        _ = try cluster.ctlUntilSuccess(["endpoint", "health"], endpoints: members)
        for (i, endpoint) in members.enumerated() {
            let r = try cluster.ctl(["put", "peer-tls-\(i)", "v\(i)"], endpoints: [endpoint])
            #expect(r.exitCode == 0, "put via \(endpoint): \(r.stderr)")
        }
        for endpoint in members {
            let r = try cluster.ctl(["get", "peer-tls-", "--prefix", "--print-value-only"], endpoints: [endpoint])
            #expect(r.stdout == "v0\nv1\nv2\n", "get via \(endpoint): \(r.stderr)")
        }
        let list = try cluster.ctl(["member", "list"], endpoints: members)
        #expect(list.stdout.split(separator: "\n").count == 3)
        #expect(list.stdout.components(separatedBy: "https://127.0.0.1:").count - 1 >= 3, "\(list.stdout)")

        // Keep-alives sent to followers reach the leader (swift-etcd: over
        // the leader's https client URL, with this member's certificate).
        let grant = try cluster.ctl(["lease", "grant", "60"], endpoints: [members[0]])
        let leaseID = try #require(grant.stdout.firstMatch(of: /lease ([0-9a-f]+) granted/)?.1, "\(grant.stdout)")
        for endpoint in members {
            let keepAlive = try cluster.ctl(["lease", "keep-alive", "--once", String(leaseID)], endpoints: [endpoint])
            #expect(keepAlive.stdout.contains("keepalived with TTL"), "via \(endpoint): \(keepAlive.stderr)")
        }

        // A rogue whose peer certificate comes from another CA tries to join.
        let rogue = try cluster.plan("rogue")
        try cluster.start("rogue", state: "existing", arguments: pki.peerArguments(foreign: true))
        #expect(cluster.waitForExit("rogue", timeout: .seconds(60)), "the rogue gives up")
        #expect(
            cluster.log("node1").contains("rejected connection") || cluster.log("node2").contains("rejected connection")
                || cluster.log("node3").contains("rejected connection"),
            "members log the refused handshake")
        let afterRogue = try cluster.ctl(["member", "list"], endpoints: members)
        #expect(afterRogue.stdout.split(separator: "\n").count == 3, "\(afterRogue.stdout)")
        #expect(!afterRogue.stdout.contains(":\(rogue.peerPort)"))
        let data = try cluster.ctl(["get", "peer-tls-", "--prefix", "--print-value-only"], endpoints: members)
        #expect(data.stdout == "v0\nv1\nv2\n")

        // Kill one: the other two still serve over TLS.
        cluster.kill("node1")
        let survivors = [cluster.endpoint("node2"), cluster.endpoint("node3")]
        _ = try cluster.ctlUntilSuccess(["put", "after-kill", "yes"], endpoints: survivors)
        for endpoint in survivors {
            let r = try cluster.ctl(["get", "after-kill", "--print-value-only"], endpoints: [endpoint])
            #expect(r.stdout == "yes\n", "via \(endpoint): \(r.stderr)")
        }
    }
}

/// One single-member server (etcd or swift-etcd) with an https client URL,
/// started with `arguments` on free ports and stopped by PID.
final class TLSNode: @unchecked Sendable {
    let clientPort: Int
    let dataDir: URL
    private let process: ServerProcess

    let peerPort: Int

    init(kind: EtcdNode.Kind, arguments: [String], ctlTLS: [String], peerScheme: String = "http") throws {
        clientPort = try Ports.free()
        peerPort = try Ports.free()
        dataDir = try Paths.makeTempDirectory("tls-\(kind.rawValue)")
        let binary: String
        switch kind {
        case .etcd: binary = Paths.etcd
        case .swiftEtcd:
            guard let path = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built") }
            binary = path
        }
        let urls = TLSTests.urls(client: "https://127.0.0.1:\(clientPort)", peer: "\(peerScheme)://127.0.0.1:\(peerPort)")
        process = try ServerProcess(
            executable: binary,
            arguments: urls + ["--data-dir", dataDir.appendingPathComponent("data").path] + arguments,
            logURL: dataDir.appendingPathComponent("server.log"))
        try waitUntilServing(ctlTLS: ctlTLS)
    }

    var endpoint: String { "https://127.0.0.1:\(clientPort)" }
    var log: String { process.log }

    /// Polls `endpoint health` (at most 100 tries within about 20 s).
    private func waitUntilServing(ctlTLS: [String]) throws {
        let deadline = ContinuousClock.now + .seconds(20)
        for _ in 0..<100 where ContinuousClock.now < deadline {
            if try ctl(["endpoint", "health", "--command-timeout=1s"], tls: ctlTLS).exitCode == 0 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw TestFailure("TLS node did not become healthy; log:\n\(process.log.suffix(2000))")
    }

    func ctl(_ arguments: [String], tls: [String] = [], endpoint: String? = nil) throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ETCDCTL_") }
        environment["ETCDCTL_API"] = "3"
        return try ChildProcess.run(
            Paths.etcdctl,
            ["--endpoints=\(endpoint ?? self.endpoint)", "--dial-timeout=2s", "--command-timeout=5s"] + tls + arguments,
            environment: environment, timeout: .seconds(20))
    }

    func stop() {
        process.stop()
        if ProcessInfo.processInfo.environment["SWIFT_ETCD_KEEP_DATA"] == nil {
            try? FileManager.default.removeItem(at: dataDir)
        }
    }

    deinit { stop() }
}
