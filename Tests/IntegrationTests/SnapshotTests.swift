import Foundation
import Testing

/// Raft snapshots end to end: the leader snapshots and compacts its log, a
/// member that was down catches up from the snapshot rather than the log,
/// and a member restarts from its own snapshot plus the WAL after it.
@Suite(.serialized)
struct SnapshotTests {
    @Test("a member that missed compacted entries catches up by snapshot; restarts load snapshots")
    func catchUpBySnapshotAndRestartFromSnapshot() throws {
        try requireOracle()
        let cluster = try TestCluster(
            kind: .swiftEtcd, size: 3,
            extraArguments: ["--snapshot-count", "20", "--experimental-snapshot-catchup-entries", "5"])
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "before", "0"])

        // node3 misses more than snapshot-count + catch-up entries.
        cluster.kill("node3")
        let survivors = [cluster.endpoint("node1"), cluster.endpoint("node2")]
        _ = try cluster.ctlUntilSuccess(["put", "k000", "v0"], endpoints: survivors)
        for i in 1..<60 {
            let r = try cluster.ctl(["put", String(format: "k%03d", i), "v\(i)"], endpoints: survivors)
            #expect(r.exitCode == 0, "put \(i): \(r.stderr)")
        }
        let expected = try cluster.ctl(["get", "k", "--prefix", "-w", "json"], endpoints: survivors)
        #expect(expected.exitCode == 0)
        for name in ["node1", "node2"] {
            let dir = cluster.dataDir(name).appendingPathComponent("member/snap")
            let snaps = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            #expect(snaps.contains { $0.hasSuffix(".snap") }, "\(name) took a snapshot: \(snaps)")
            // The store is in the backend, not in the snapshot files (as
            // etcd's .snap files hold no keys).
            for snap in snaps where snap.hasSuffix(".snap") {
                let data = try Data(contentsOf: dir.appendingPathComponent(snap))
                #expect(data.range(of: Data("k012".utf8)) == nil, "\(name)'s \(snap) holds no keys")
            }
        }

        try cluster.start("node3")
        let lastKey = try cluster.ctl(
            ["get", "k059", "--consistency=s", "--print-value-only"], endpoints: [cluster.endpoint("node3")],
            until: { $0.stdout == "v59\n" })
        #expect(lastKey.stdout == "v59\n")
        #expect(cluster.log("node3").contains("installed a snapshot from the leader"))
        // The leader attached its backend, read when it sent the snapshot.
        #expect(["node1", "node2"].contains { cluster.log($0).contains("sending a snapshot with the backend") })
        let caughtUp = try cluster.ctl(
            ["get", "k", "--prefix", "--consistency=s", "--print-value-only"], endpoints: [cluster.endpoint("node3")])
        #expect(caughtUp.stdout.split(separator: "\n").count == 60)

        // Every member restarts from its backend and the WAL after its newest snapshot,
        // with the same keys and revisions as before.
        for name in ["node1", "node2", "node3"] { cluster.kill(name) }
        for name in ["node1", "node2", "node3"] { try cluster.start(name) }
        for endpoint in cluster.endpoints {
            let r = try cluster.ctlUntilSuccess(["get", "k", "--prefix", "-w", "json"], endpoints: [endpoint])
            #expect(Self.kvs(r.stdout) == Self.kvs(expected.stdout), "via \(endpoint)")
        }
        // The backend holds everything the snapshot does (it is synced
        // before WAL segments go), so a restart starts from it.
        #expect(cluster.log("node1").contains("recovered the store from the backend"))
        _ = try cluster.ctlUntilSuccess(["put", "after", "restart"])
    }

    /// The `kvs` array of `get -w json` output (the header differs by member).
    static func kvs(_ json: String) -> String {
        guard let range = json.range(of: "\"kvs\":") else { return json }
        return String(json[range.lowerBound...])
    }
}
