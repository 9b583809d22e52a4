import Foundation
import Testing

/// The same etcdctl script against real etcd 3.4 and against swift-etcd:
/// every command's normalized stdout, stderr and exit code must be equal.
@Suite(.serialized)
struct OracleTests {
    @Test("KV: etcdctl sees swift-etcd exactly as etcd 3.4")
    func kvScriptMatchesEtcd() throws {
        try requireOracle()
        let script = try OracleScript(named: "kv.txt")
        let clientPort = try Ports.free()
        let peerPort = try Ports.free()

        let etcd = try EtcdNode(kind: .etcd, clientPort: clientPort, peerPort: peerPort)
        let expected = try script.run(against: etcd)
        etcd.stop()

        let ours = try EtcdNode(kind: .swiftEtcd, clientPort: clientPort, peerPort: peerPort)
        let actual = try script.run(against: ours)
        ours.stop()

        if let dir = ProcessInfo.processInfo.environment["ORACLE_DUMP"] {
            try script.transcript(expected).write(toFile: "\(dir)/etcd.txt", atomically: true, encoding: .utf8)
            try script.transcript(actual).write(toFile: "\(dir)/swift-etcd.txt", atomically: true, encoding: .utf8)
        }
        // Guard against a vacuous pass (both servers unreachable alike).
        #expect(expected.filter { $0.exitCode == 0 }.count > script.steps.count / 2)

        var mismatches: [String] = []
        for (i, step) in script.steps.enumerated() where expected[i] != actual[i] {
            mismatches.append(
                """
                line \(step.line): etcdctl \(step.display)
                  etcd:       exit \(expected[i].exitCode) out \(expected[i].stdout.debugDescription) err \(expected[i].stderr.debugDescription)
                  swift-etcd: exit \(actual[i].exitCode) out \(actual[i].stdout.debugDescription) err \(actual[i].stderr.debugDescription)
                """)
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(script.steps.count) commands differ:\n\(mismatches.joined(separator: "\n"))")
    }
}

func requireOracle() throws {
    guard FileManager.default.isExecutableFile(atPath: Paths.etcd),
        FileManager.default.isExecutableFile(atPath: Paths.etcdctl)
    else {
        throw TestFailure("etcd 3.4 is the oracle: apt-get install etcd-server etcd-client")
    }
}

/// A parsed oracle script (see Oracle/kv.txt for the format).
struct OracleScript {
    struct Step {
        var line: Int
        var arguments: [String]
        var stdin: Data?
        var display: String
    }

    var steps: [Step] = []

    init(named name: String) throws {
        let url = Paths.packageRoot.appendingPathComponent("Tests/IntegrationTests/Oracle/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var command = line
            var stdin: Data?
            if let marker = line.range(of: "<<<") {
                command = String(line[..<marker.lowerBound]).trimmingCharacters(in: .whitespaces)
                stdin = Self.stdin(for: String(line[marker.upperBound...]).trimmingCharacters(in: .whitespaces))
            }
            let arguments = command.split(separator: " ").map { token -> String in
                token == "\\e" ? "" : token.replacingOccurrences(of: "\\s", with: " ")
            }
            steps.append(Step(line: number + 1, arguments: arguments, stdin: stdin, display: line))
        }
    }

    private static func stdin(for spec: String) -> Data {
        if spec.hasPrefix("@bytes:"), let n = Int(spec.dropFirst("@bytes:".count)) {
            return Data(repeating: UInt8(ascii: "x"), count: n)
        }
        if spec.hasPrefix("@puts:"), let n = Int(spec.dropFirst("@puts:".count)) {
            // n puts in the success branch, no compares, empty failure branch.
            let puts = (0..<n).map { "put many\($0) v" }.joined(separator: "\n")
            return Data("\n\(puts)\n\n\n".utf8)
        }
        return Data(spec.replacingOccurrences(of: "\\s", with: " ").replacingOccurrences(of: "\\n", with: "\n").utf8)
    }

    /// A readable record of one run, for `ORACLE_DUMP=dir` and diffing.
    func transcript(_ results: [CommandResult]) -> String {
        zip(steps, results).map { step, r in
            "$ etcdctl \(step.display)\n[exit \(r.exitCode)]\n\(r.stdout)\(r.stderr.isEmpty ? "" : "stderr: \(r.stderr)")"
        }.joined(separator: "\n")
    }

    func run(against node: EtcdNode) throws -> [CommandResult] {
        try steps.map { step in
            var r = try node.ctl(step.arguments, stdin: step.stdin)
            r.stdout = Normalizer.normalize(r.stdout)
            r.stderr = Normalizer.normalize(r.stderr)
            return r
        }
    }
}

/// Erases what legitimately differs between two servers: member and cluster
/// IDs, Raft terms, timestamps, client UUIDs and latencies.
enum Normalizer {
    private static let rules: [(String, String)] = [
        (#""ts":"[^"]*""#, #""ts":"TS""#),
        (#"endpoint://client-[0-9a-f-]+/"#, "endpoint://client-ID/"),
        (#""cluster_id":[0-9]+"#, #""cluster_id":ID"#),
        (#""member_id":[0-9]+"#, #""member_id":ID"#),
        (#""raft_term":[0-9]+"#, #""raft_term":TERM"#),
        (#""ClusterID" : [0-9]+"#, #""ClusterID" : ID"#),
        (#""MemberID" : [0-9]+"#, #""MemberID" : ID"#),
        (#""RaftTerm" : [0-9]+"#, #""RaftTerm" : TERM"#),
        (#"took = [0-9.]+[a-zµ]*"#, "took = T"),
    ]

    static func normalize(_ text: String) -> String {
        var out = text
        for (pattern, replacement) in rules {
            out = out.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return out
    }
}
