import Foundation
import Testing

/// Runtime membership with stock etcdctl: every member publishes its client
/// URLs; a learner is added, joins with `--initial-cluster-state existing`,
/// catches up and is promoted; a member is removed and stops; etcd's errors
/// for bad requests.
@Suite(.serialized)
struct MembershipTests {
    @Test("member add (learner), join, promote, update and remove, as etcdctl prints them")
    func addJoinPromoteRemove() throws {
        try requireOracle()
        let cluster = try TestCluster(kind: .swiftEtcd, size: 3)
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "before-join", "1"])

        // Every member lists every member's client URLs once published.
        let list = try cluster.ctl(["member", "list"], until: { r in
            cluster.specs.allSatisfy { r.stdout.contains("http://127.0.0.1:\($0.clientPort)") }
        })
        #expect(list.stdout.split(separator: "\n").count == 3)
        #expect(list.stdout.contains(", started, node1, "))

        // Add a learner.
        let node4 = try cluster.plan("node4")
        let peer4 = "http://127.0.0.1:\(node4.peerPort)"
        let add = try cluster.ctl(["member", "add", "node4", "--peer-urls=\(peer4)", "--learner"])
        #expect(add.exitCode == 0, "\(add.stderr)")
        // etcdctl prints IDs with %16x: space-padded.
        let added = try #require(add.stdout.firstMatch(of: /Member ([ 0-9a-f]{16}) added to cluster ([ 0-9a-f]{16})/))
        let id4 = added.1.trimmingCharacters(in: .whitespaces)
        #expect(add.stdout.contains("ETCD_NAME=\"node4\""))
        #expect(add.stdout.contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\""))
        #expect(add.stdout.contains("node4=\(peer4)"))
        let unstarted = try cluster.ctl(["member", "list"])
        #expect(unstarted.stdout.contains("\(id4), unstarted, , \(peer4), , true"), "\(unstarted.stdout)")

        // A second learner is refused, as is a taken peer URL.
        let second = try cluster.ctl(["member", "add", "x", "--peer-urls=http://127.0.0.1:1", "--learner"])
        #expect(second.stderr.contains("etcdserver: too many learner members in cluster"), "\(second.stderr)")
        let taken = try cluster.ctl(["member", "add", "x", "--peer-urls=\(peer4)"])
        #expect(taken.stderr.contains("etcdserver: Peer URLs already exists"), "\(taken.stderr)")

        // The learner joins, catches up and publishes itself.
        try cluster.start("node4", state: "existing")
        let caughtUp = try cluster.ctl(
            ["get", "before-join", "--consistency=s", "--print-value-only"], endpoints: [cluster.endpoint("node4")],
            until: { $0.stdout == "1\n" })
        #expect(caughtUp.exitCode == 0)
        _ = try cluster.ctl(["member", "list"], until: { $0.stdout.contains("\(id4), started, node4, ") })

        // Promote it once it is in sync.
        let promote = try cluster.ctl(["member", "promote", id4], until: { $0.exitCode == 0 })
        #expect(promote.stdout.contains("\(id4) promoted in cluster"), "\(promote.stdout)")
        let notLearner = try cluster.ctl(["member", "promote", id4])
        #expect(notLearner.stderr.contains("etcdserver: can only promote a learner member"), "\(notLearner.stderr)")

        // Update and unknown IDs.
        let update = try cluster.ctl(["member", "update", id4, "--peer-urls=\(peer4)"])
        #expect(update.stdout.contains("\(id4) updated in cluster"), "\(update.stdout) \(update.stderr)")
        let unknown = try cluster.ctl(["member", "remove", "1234"])
        #expect(unknown.stderr.contains("etcdserver: member not found"), "\(unknown.stderr)")

        // Remove node1: it stops; the other three serve on.
        let ids = try cluster.ctl(["member", "list"]).stdout.split(separator: "\n")
        let line1 = try #require(ids.first { $0.contains(", node1, ") })
        let id1 = String(line1.prefix { $0 != "," })
        let others = cluster.specs.filter { $0.name != "node1" }.map { "127.0.0.1:\($0.clientPort)" }
        let remove = try cluster.ctl(["member", "remove", id1], endpoints: others)
        #expect(remove.stdout.contains("\(id1) removed from cluster"), "\(remove.stdout) \(remove.stderr)")
        #expect(cluster.waitForExit("node1"), "a removed member stops")
        _ = try cluster.ctlUntilSuccess(["put", "after-remove", "yes"], endpoints: others)
        let after = try cluster.ctl(["member", "list"], endpoints: others)
        #expect(after.stdout.split(separator: "\n").count == 3)
        #expect(!after.stdout.contains(id1))
        let read = try cluster.ctl(
            ["get", "after-remove", "--print-value-only"], endpoints: [cluster.endpoint("node4")],
            until: { $0.stdout == "yes\n" })
        #expect(read.exitCode == 0)
    }
}
