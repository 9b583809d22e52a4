import Foundation
import Testing

/// Authentication end to end on real processes: the auth store survives
/// `kill -9` and a restart exactly as etcd 3.4's does, a member that
/// catches up by snapshot enforces the same permissions, and no clear
/// password ever reaches the data directory (where etcd 3.4's own WAL, the
/// positive control, does hold one).
@Suite(.serialized)
struct AuthTests {
    static let setup: [[String]] = [
        ["user", "add", "root:rootpw", "--interactive=false"],
        ["user", "grant-role", "root", "root"],
        ["user", "add", "alice:alicepw", "--interactive=false"],
        ["role", "add", "reader"],
        ["role", "grant-permission", "reader", "read", "foo"],
        ["role", "grant-permission", "reader", "readwrite", "app/", "--prefix"],
        ["user", "grant-role", "alice", "reader"],
        ["put", "foo", "bar"],
        ["put", "app/x", "1"],
        ["auth", "enable"],
    ]

    @Test("kill -9 and restart: users, roles, permissions and the auth switch survive, as in etcd",
          arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func authSurvivesRestart(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let clientPort = try Ports.free()
        let peerPort = try Ports.free()
        var node = try EtcdNode(kind: kind, clientPort: clientPort, peerPort: peerPort)
        let dataDir = node.dataDir
        defer { try? FileManager.default.removeItem(at: dataDir) }
        for command in Self.setup {
            let r = try node.ctl(command)
            #expect(r.exitCode == 0, "\(command): \(r.stderr)")
        }
        let before = try Self.observe(node)

        node.crash()
        node = try EtcdNode(
            kind: kind, clientPort: clientPort, peerPort: peerPort, dataDir: dataDir,
            healthArguments: ["--user=root:rootpw"])
        defer { node.stop() }
        let after = try Self.observe(node)
        #expect(after == before)
        #expect(after.joined().contains("user name is empty"), "auth is still on: \(after)")
        if kind == .swiftEtcd {
            #expect(node.log.contains("recovered the store from the backend"), "restarted from the LMDB backend")
        }
        // Management goes on where it stopped.
        #expect(try node.ctl(["user", "add", "bob:bobpw", "--interactive=false", "--user=root:rootpw"]).exitCode == 0)
        #expect(try node.ctl(["user", "list", "--user=root:rootpw"]).stdout == "alice\nbob\nroot\n")
    }

    /// What a restart must keep, normalized where etcd and swift-etcd differ.
    static func observe(_ node: EtcdNode) throws -> [String] {
        let commands: [[String]] = [
            ["user", "list", "--user=root:rootpw"],
            ["role", "list", "--user=root:rootpw"],
            ["user", "get", "alice", "--detail", "--user=root:rootpw"],
            ["get", "foo", "--user=alice:alicepw"],
            ["get", "app/", "--prefix", "--user=alice:alicepw"],
            ["put", "foo", "x", "--user=alice:alicepw"],
            ["get", "foo", "--user=alice:wrong"],
            ["get", "foo"],
        ]
        return try commands.map { args in
            let r = try node.ctl(args)
            return "\(args): \(r.exitCode) \(Normalizer.normalize(r.stdout)) \(Normalizer.normalize(r.stderr))"
        }
    }

    @Test("a member that catches up by snapshot gets the auth store and enforces it")
    func snapshotCarriesAuth() throws {
        try requireOracle()
        let cluster = try TestCluster(
            kind: .swiftEtcd, size: 3,
            extraArguments: ["--snapshot-count", "20", "--experimental-snapshot-catchup-entries", "5"])
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "before", "0"])
        cluster.kill("node3")
        let survivors = [cluster.endpoint("node1"), cluster.endpoint("node2")]
        // node3 may have led: wait for the survivors to elect a leader.
        _ = try cluster.ctlUntilSuccess(["put", "after-kill", "0"], endpoints: survivors)
        for command in Self.setup {
            let r = try cluster.ctl(command, endpoints: survivors)
            #expect(r.exitCode == 0, "\(command): \(r.stderr)")
        }
        for i in 0..<40 {
            let r = try cluster.ctl(["put", "app/\(i)", "v", "--user=root:rootpw"], endpoints: survivors)
            #expect(r.exitCode == 0, "put \(i): \(r.stderr)")
        }

        try cluster.start("node3")
        let node3 = [cluster.endpoint("node3")]
        let read = try cluster.ctl(
            ["get", "app/39", "--print-value-only", "--user=alice:alicepw"], endpoints: node3,
            until: { $0.stdout == "v\n" })
        #expect(read.stdout == "v\n")
        #expect(cluster.log("node3").contains("installed a snapshot from the leader"))
        let denied = try cluster.ctl(["put", "foo", "x", "--user=alice:alicepw"], endpoints: node3)
        #expect(denied.stderr.contains("etcdserver: permission denied"), "\(denied.stderr)")
        let anonymous = try cluster.ctl(["get", "foo"], endpoints: node3)
        #expect(anonymous.stderr.contains("etcdserver: user name is empty"), "\(anonymous.stderr)")
        // Writes through node3 are checked the same way on every member.
        let write = try cluster.ctl(["put", "app/from3", "ok", "--user=alice:alicepw"], endpoints: node3)
        #expect(write.exitCode == 0, "\(write.stderr)")
        let seen = try cluster.ctl(
            ["get", "app/from3", "--print-value-only", "--user=alice:alicepw"], endpoints: [cluster.endpoint("node1")])
        #expect(seen.stdout == "ok\n")
    }

    /// Distinctive passwords, so that finding one by chance is impossible.
    static let passwords = ["Qx7-first-secret-Zp2", "Wm4-second-secret-Kt9", "Rv8-changed-secret-Hy3"]

    @Test("no clear password reaches the data directory (etcd 3.4's WAL holds them: the control)",
          arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func passwordsNeverReachTheDisk(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let node = try EtcdNode(
            kind: kind, clientPort: try Ports.free(), peerPort: try Ports.free(), arguments: ["--snapshot-count=10"])
        let dataDir = node.dataDir
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let commands: [[String]] = [
            ["user", "add", "root:\(Self.passwords[0])", "--interactive=false"],
            ["user", "grant-role", "root", "root"],
            ["user", "add", "carol:\(Self.passwords[1])", "--interactive=false"],
            ["auth", "enable"],
            ["user", "passwd", "carol", "--interactive=false", "--user=root:\(Self.passwords[0])"],
        ]
        for (i, command) in commands.enumerated() {
            let stdin = i == 4 ? Data("\(Self.passwords[2])\n".utf8) : nil
            let r = try node.ctl(command, stdin: stdin)
            #expect(r.exitCode == 0, "\(command): \(r.stderr)")
        }
        // Logins and enough writes for a snapshot and a backend commit.
        for i in 0..<15 {
            let r = try node.ctl(["put", "k\(i)", "v", "--user=root:\(Self.passwords[0])"])
            #expect(r.exitCode == 0, "\(r.stderr)")
        }
        #expect(try node.ctl(["get", "k1", "--user=carol:\(Self.passwords[2])"]).stderr.contains("permission denied"))
        Thread.sleep(forTimeInterval: 0.5)  // a backend commit tick
        node.crash()

        let files = Self.files(under: dataDir.appendingPathComponent("data"))
        #expect(files.contains { $0.path.contains("/wal/") }, "the WAL was searched: \(files)")
        #expect(files.contains { $0.path.contains("/snap/") }, "the snapshot directory was searched: \(files)")
        var found: [String] = []
        for file in files {
            guard let bytes = try? Data(contentsOf: file) else { continue }
            for password in Self.passwords where bytes.range(of: Data(password.utf8)) != nil {
                found.append("\(file.lastPathComponent): \(password)")
            }
        }
        switch kind {
        case .etcd:
            // etcd 3.4 proposes UserAdd and UserChangePassword with the
            // clear password; finding it proves the search works.
            #expect(!found.isEmpty, "etcd 3.4 logs passwords in its WAL; the search found none in \(files)")
        case .swiftEtcd:
            #expect(found.isEmpty, "clear passwords on disk: \(found)")
            for password in Self.passwords {
                #expect(!node.log.contains(password), "the server log holds a password")
            }
        }
    }

    static func files(under root: URL) -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        else { return [] }
        return enumerator.compactMap { item -> URL? in
            guard let url = item as? URL,
                (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true
            else { return nil }
            return url
        }
    }
}
