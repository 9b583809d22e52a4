import Foundation
import Testing

/// Leadership: MoveLeader hands over as etcd does, and an old leader cut
/// off from the others never serves a stale linearizable read.
@Suite(.serialized)
struct LeadershipTests {
    /// The endpoint of the member `endpoint status` reports as leader, and
    /// one of a follower.
    static func roles(_ cluster: TestCluster) throws -> (leader: String, leaderID: String, follower: String, followerID: String) {
        let status = try cluster.ctl(["endpoint", "status"], until: { r in
            r.exitCode == 0 && r.stdout.contains(", true, ") && r.stdout.contains(", false, ")
        })
        let lines = status.stdout.split(separator: "\n").map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let leader = try #require(lines.first { $0.count > 4 && $0[4] == "true" })
        let follower = try #require(lines.first { $0.count > 4 && $0[4] == "false" })
        return (leader[0], leader[1], follower[0], follower[1])
    }

    @Test("move-leader hands leadership to a follower, as etcd", arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func moveLeader(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let cluster = try TestCluster(kind: kind, size: 3)
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "k", "v"])
        let before = try Self.roles(cluster)
        let move = try cluster.ctl(["move-leader", before.followerID])
        #expect(move.exitCode == 0, "\(move.stderr)")
        #expect(move.stdout == "Leadership transferred from \(before.leaderID) to \(before.followerID)\n", "\(move.stdout)")
        let after = try Self.roles(cluster)
        #expect(after.leaderID == before.followerID)

        // To a member that does not exist: etcd's error.
        let bad = try cluster.ctl(["move-leader", "1234"])
        #expect(bad.exitCode == 1)
        #expect(bad.stderr.contains("etcdserver: bad leader transferee"), "\(bad.stderr)")
    }

    @Test("a frozen old leader, resumed, serves no stale linearizable read")
    func noStaleReadFromAnOldLeader() throws {
        try requireOracle()
        let cluster = try TestCluster(kind: .swiftEtcd, size: 3)
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "x", "old"])
        let roles = try Self.roles(cluster)
        let leaderName = try #require(cluster.specs.first { "127.0.0.1:\($0.clientPort)" == roles.leader }?.name)
        let leaderPID = try #require(cluster.processes[leaderName]?.pid)

        // Freeze the leader (a partition it cannot notice); the others elect
        // a new leader and accept a newer value.
        kill(leaderPID, SIGSTOP)
        let others = cluster.endpoints.filter { $0 != roles.leader }
        _ = try cluster.ctlUntilSuccess(["put", "x", "new"], endpoints: others)

        // Resumed, the old leader still believes it leads until it hears
        // the new term; a linearizable read must not answer "old".
        kill(leaderPID, SIGCONT)
        let read = try cluster.ctl(["get", "x", "--print-value-only"], endpoints: [roles.leader])
        #expect(read.stdout != "old\n", "stale read: \(read.stdout)")
        let settled = try cluster.ctl(["get", "x", "--print-value-only"], endpoints: [roles.leader],
                                      until: { $0.exitCode == 0 })
        #expect(settled.stdout == "new\n")
    }
}
