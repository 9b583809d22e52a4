import Foundation
import Testing

/// `Maintenance.Hash` (through the JSON gateway, `/v3/maintenance/hash`):
/// members that applied the same writes answer the same hash of their
/// backends, and a write changes it — on etcd 3.4 and on swift-etcd. (The
/// numbers themselves differ between the two: each hashes its own file.)
@Suite(.serialized)
struct MaintenanceHashTests {
    @Test("the members of a cluster agree on Hash, and a write changes it", arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func membersAgree(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let cluster = try TestCluster(kind: kind, size: 3)
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "a", "1"])
        // Members publish their client URLs through the log once they know
        // a leader: wait for all three, so that no publish lands between
        // the last write and a member's hash.
        _ = try cluster.ctl(["member", "list"], until: { r in
            cluster.specs.allSatisfy { r.stdout.contains("http://127.0.0.1:\($0.clientPort)") }
        })
        for (key, value) in [("b", "2"), ("a", "3"), ("c", "4")] {
            #expect(try cluster.ctl(["put", key, value]).exitCode == 0)
        }
        #expect(try cluster.ctl(["del", "b"]).exitCode == 0)
        #expect(try cluster.ctl(["lease", "grant", "600"]).exitCode == 0)
        #expect(try cluster.ctl(["compact", "3"]).exitCode == 0)
        // The last write: a member that has it applied everything above.
        #expect(try cluster.ctl(["put", "z", "end"]).exitCode == 0)

        let first = try hashes(of: cluster, afterSeeing: ("z", "end"))
        #expect(Set(first.map(\.hash)).count == 1, "\(kind.rawValue): \(first)")
        #expect(Set(first.map(\.revision)).count == 1, "\(kind.rawValue): \(first)")
        #expect(first.allSatisfy { $0.hash != 0 })

        #expect(try cluster.ctl(["put", "d", "5"]).exitCode == 0)
        let second = try hashes(of: cluster, afterSeeing: ("d", "5"))
        #expect(Set(second.map(\.hash)).count == 1, "\(kind.rawValue): \(second)")
        #expect(second.first?.hash != first.first?.hash)
        #expect(second.first?.revision == (first.first?.revision ?? 0) + 1)
    }

    /// Each member's Hash, once a serializable read on it returns `key`'s
    /// `value` (the member applied that write); bounded by `ctl(_:until:)`.
    private func hashes(of cluster: TestCluster, afterSeeing last: (key: String, value: String)) throws
        -> [(hash: UInt64, revision: Int64)]
    {
        try cluster.specs.map { spec in
            let endpoint = cluster.endpoint(spec.name)
            _ = try cluster.ctl(
                ["get", last.key, "--print-value-only", "--consistency=s"], endpoints: [endpoint],
                until: { $0.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == last.value })
            let response = try Curl.request("POST", "http://\(endpoint)/v3/maintenance/hash", body: "{}")
            #expect(response.status == 200, "\(response.body)")
            let json = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
            let header = json?["header"] as? [String: Any]
            // grpc-gateway writes 64-bit integers as strings, uint32 as numbers.
            let hash = (json?["hash"] as? NSNumber)?.uint64Value ?? 0
            let revision = Int64(header?["revision"] as? String ?? "") ?? 0
            return (hash, revision)
        }
    }
}
