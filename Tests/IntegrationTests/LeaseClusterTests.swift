import Foundation
import Testing

/// Leases in a three-member cluster: only the leader's lessor expires
/// leases, so keep-alives sent to a follower must reach the leader.
@Suite(.serialized)
struct LeaseClusterTests {
    @Test("keep-alives sent to a follower keep the lease alive on the leader; it expires once they stop")
    func keepAliveThroughAFollower() throws {
        try requireOracle()
        let cluster = try TestCluster(kind: .swiftEtcd, size: 3)
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "ready", "1"])
        // Wait until every member published its client URLs (forwarding uses them).
        _ = try cluster.ctl(["member", "list"], until: { r in
            cluster.specs.allSatisfy { r.stdout.contains("http://127.0.0.1:\($0.clientPort)") }
        })
        let status = try cluster.ctl(["endpoint", "status"])
        let followerLine = try #require(
            status.stdout.split(separator: "\n").first { $0.contains(", false, ") }, "\(status.stdout)")
        let follower = String(followerLine.prefix { $0 != "," })

        let grant = try cluster.ctl(["lease", "grant", "3"], endpoints: [follower])
        let leaseID = try #require(grant.stdout.firstMatch(of: /lease ([0-9a-f]+) granted/)).1
        #expect(try cluster.ctl(["put", "leased", "v", "--lease=\(leaseID)"], endpoints: [follower]).exitCode == 0)

        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ETCDCTL_") }
        environment["ETCDCTL_API"] = "3"
        let keepAlive = try BackgroundCommand(
            Paths.etcdctl, ["--endpoints=\(follower)", "--dial-timeout=2s", "lease", "keep-alive", String(leaseID)],
            environment: environment)
        // Three TTLs pass while only the follower hears keep-alives.
        Thread.sleep(forTimeInterval: 9)
        let alive = try cluster.ctl(["get", "leased", "--print-value-only"])
        #expect(alive.stdout == "v\n", "the lease outlived its TTL only if keep-alives reached the leader")
        // The follower answers time-to-live from the leader's lessor.
        let ttl = try cluster.ctl(["lease", "timetolive", String(leaseID)], endpoints: [follower])
        #expect(ttl.stdout.contains("granted with TTL(3s), remaining("), "\(ttl.stdout) \(ttl.stderr)")
        let output = keepAlive.finish(waitingFor: "never", timeout: .milliseconds(10))
        #expect(output.stdout.contains("keepalived with TTL(3)"), "\(output.stdout) \(output.stderr)")

        // Without keep-alives the leader expires it and deletes the key.
        let gone = try cluster.ctl(["get", "leased", "--print-value-only"], until: { $0.exitCode == 0 && $0.stdout.isEmpty })
        #expect(gone.stdout.isEmpty)
    }
}
