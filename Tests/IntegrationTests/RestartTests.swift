import Foundation
import Testing

/// A single member restarted (after `kill -9`) on its data directory comes
/// back with every key, revision, lease and the compaction point, exactly
/// as etcd 3.4 does for the same commands.
@Suite(.serialized)
struct RestartTests {
    @Test("kill -9 and restart: keys, history, compaction and leases survive, as in etcd",
          arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func restartKeepsEverything(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let clientPort = try Ports.free()
        let peerPort = try Ports.free()
        var node = try EtcdNode(kind: kind, clientPort: clientPort, peerPort: peerPort)
        let dataDir = node.dataDir
        defer { try? FileManager.default.removeItem(at: dataDir) }
        for i in 0..<20 { _ = try node.ctl(["put", "k\(i % 5)", "v\(i)"]) }
        _ = try node.ctl(["del", "k4"])
        #expect(try node.ctl(["compact", "10"]).exitCode == 0)
        let grant = try node.ctl(["lease", "grant", "600"])
        let leaseID = try #require(grant.stdout.firstMatch(of: /lease ([0-9a-f]+) granted/)).1
        _ = try node.ctl(["put", "leased", "x", "--lease=\(leaseID)"])
        let before = try Self.observe(node, leaseID: String(leaseID))

        node.crash()
        node = try EtcdNode(kind: kind, clientPort: clientPort, peerPort: peerPort, dataDir: dataDir)
        defer { node.stop() }
        let after = try Self.observe(node, leaseID: String(leaseID))
        #expect(after == before)
        #expect(after.joined().contains("required revision has been compacted"), "the compaction point survived")
        if kind == .swiftEtcd {
            #expect(node.log.contains("recovered the store from the backend"), "restarted from the LMDB backend")
        }
        // And it goes on from the same revision.
        let put = try node.ctl(["put", "next", "1", "-w", "json"])
        #expect(put.stdout.contains("\"revision\":24"), "\(put.stdout)")
    }

    /// What the restart must preserve, normalized where etcd and swift-etcd
    /// legitimately differ.
    static func observe(_ node: EtcdNode, leaseID: String) throws -> [String] {
        let commands: [[String]] = [
            ["get", "", "--from-key", "-w", "json"],
            ["get", "k1", "--rev=12", "-w", "json"],
            ["get", "k1", "--rev=5"],
            ["lease", "list"],
            ["lease", "timetolive", leaseID, "--keys"],
        ]
        return try commands.map { args in
            let r = try node.ctl(args)
            return "\(args): \(r.exitCode) \(Normalizer.normalize(r.stdout)) \(Normalizer.normalize(r.stderr))"
                .replacingOccurrences(of: #""raft_term":[0-9]+"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #"TTL\(600s\)"#, with: "TTL(T)", options: .regularExpression)
        }
    }
}
