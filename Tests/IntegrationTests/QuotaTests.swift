import Foundation
import Testing

/// `--quota-backend-bytes`: past the quota, writes fail with etcd's error
/// and a NOSPACE alarm is raised; reads, deletes and compaction still work;
/// alarm list, endpoint status and alarm disarm print what etcd prints.
@Suite(.serialized)
struct QuotaTests {
    @Test("past the quota: database space exceeded, NOSPACE alarm, reads and deletes go on",
          arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func quotaExceeded(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let node = try EtcdNode(
            kind: kind, clientPort: try Ports.free(), peerPort: try Ports.free(),
            arguments: ["--quota-backend-bytes", "40000"])
        defer { node.stop() }
        let value = String(repeating: "a", count: 2000)
        var failure: CommandResult?
        for i in 0..<100 {
            let r = try node.ctl(["put", "k\(i)", value])
            if r.exitCode != 0 {
                failure = r
                break
            }
        }
        let refused = try #require(failure, "the quota never refused a write")
        #expect(refused.exitCode == 1)
        #expect(refused.stderr.hasSuffix("Error: etcdserver: mvcc: database space exceeded\n"), "\(refused.stderr)")

        let memberID = try #require(
            try node.ctl(["endpoint", "status", "-w", "fields"]).stdout.firstMatch(of: /"MemberID" : ([0-9]+)/)).1
        let alarms = try node.ctl(["alarm", "list"])
        #expect(alarms.stdout == "memberID:\(memberID) alarm:NOSPACE \n")
        #expect(try node.ctl(["put", "more", "x"]).stderr.contains("database space exceeded"))
        #expect(try node.ctl(["get", "k0", "--print-value-only"]).stdout == value + "\n")
        #expect(try node.ctl(["del", "k0"]).stdout == "1\n")
        let status = try node.ctl(["endpoint", "status"])
        #expect(status.stdout.contains("memberID:\(memberID) alarm:NOSPACE"), "\(status.stdout)")

        if kind == .swiftEtcd {
            // Free space: delete everything, compact, disarm; writes work again.
            _ = try node.ctl(["del", "k", "--prefix"])
            let revision = try #require(
                try node.ctl(["get", "x", "-w", "fields"]).stdout.firstMatch(of: /"Revision" : ([0-9]+)/)).1
            // --physical: answered once the old versions are dropped, so the
            // space is free for the put below (a plain compaction frees it
            // within a tick of the periodic loop).
            #expect(try node.ctl(["compact", String(revision), "--physical"]).exitCode == 0)
            let disarm = try node.ctl(["alarm", "disarm"])
            #expect(disarm.stdout == "memberID:\(memberID) alarm:NOSPACE \n")
            #expect(try node.ctl(["alarm", "list"]).stdout.isEmpty)
            let again = try node.ctl(["put", "after", "disarm"])
            #expect(again.exitCode == 0, "\(again.stderr)")
        }
    }
}
