import Foundation
import Testing

/// What operators read: `member list -w table` and `endpoint status -w
/// table` for a three-member cluster, swift-etcd beside etcd 3.4. Cells that
/// legitimately differ (IDs, ports, sizes, Raft indexes) are normalized; the
/// header, the columns and everything else must be equal.
@Suite(.serialized)
struct TableParityTests {
    @Test("member list and endpoint status tables match etcd's for three members")
    func tablesMatch() throws {
        try requireOracle()
        var tables: [EtcdNode.Kind: [String]] = [:]
        for kind in [EtcdNode.Kind.etcd, .swiftEtcd] {
            let cluster = try TestCluster(kind: kind, size: 3)
            defer { cluster.stop() }
            _ = try cluster.ctlUntilSuccess(["put", "k", "v"])
            // Client URLs appear once every member has published them.
            let members = try cluster.ctl(["member", "list", "-w", "table"], until: { r in
                cluster.specs.allSatisfy { r.stdout.contains("http://127.0.0.1:\($0.clientPort)") }
            })
            let status = try cluster.ctl(["endpoint", "status", "-w", "table"])
            #expect(status.exitCode == 0, "\(status.stderr)")
            tables[kind] = [Self.normalize(members.stdout), Self.normalize(status.stdout)]
        }
        #expect(tables[.swiftEtcd] == tables[.etcd])
    }

    /// Rows as normalized cells, the header first and the rest sorted (the
    /// two clusters' member IDs, hence row orders, differ).
    static func normalize(_ table: String) -> String {
        var rows = table.split(separator: "\n").filter { $0.hasPrefix("|") }.map { line in
            line.split(separator: "|").map { cell in
                var c = cell.trimmingCharacters(in: .whitespaces)
                c = c.replacingOccurrences(of: #"^[0-9a-f]{14,16}$"#, with: "ID", options: .regularExpression)
                c = c.replacingOccurrences(of: #"127\.0\.0\.1:[0-9]+"#, with: "127.0.0.1:PORT", options: .regularExpression)
                c = c.replacingOccurrences(of: #"^[0-9.]+ (kB|MB|B)$"#, with: "SIZE", options: .regularExpression)
                c = c.replacingOccurrences(of: #"^[0-9]+$"#, with: "N", options: .regularExpression)
                c = c.replacingOccurrences(of: #"node[0-9]"#, with: "nodeN", options: .regularExpression)
                return c
            }.joined(separator: " | ")
        }
        guard !rows.isEmpty else { return table }
        let header = rows.removeFirst()
        return ([header] + rows.sorted()).joined(separator: "\n")
    }
}
