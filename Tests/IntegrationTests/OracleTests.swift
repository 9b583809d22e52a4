import Foundation
import Testing

/// The same etcdctl script against real etcd 3.4 and against swift-etcd:
/// every command's normalized stdout, stderr and exit code must be equal.
@Suite(.serialized)
struct OracleTests {
    @Test("KV: etcdctl sees swift-etcd exactly as etcd 3.4")
    func kvScriptMatchesEtcd() throws {
        try compare(script: "kv.txt")
    }

    @Test("Watch and lease: etcdctl sees swift-etcd exactly as etcd 3.4")
    func watchLeaseScriptMatchesEtcd() throws {
        try compare(script: "watch-lease.txt")
    }

    @Test("Auth: users, roles, permissions and --user flows print exactly as with etcd 3.4")
    func authScriptMatchesEtcd() throws {
        try compare(script: "auth.txt")
    }

    private func compare(script name: String) throws {
        try requireOracle()
        let script = try OracleScript(named: name)
        let clientPort = try Ports.free()
        let peerPort = try Ports.free()

        let etcd = try EtcdNode(kind: .etcd, clientPort: clientPort, peerPort: peerPort)
        let expected = try script.run(against: etcd)
        etcd.stop()

        let ours = try EtcdNode(kind: .swiftEtcd, clientPort: clientPort, peerPort: peerPort)
        let actual = try script.run(against: ours)
        ours.stop()

        if let dir = ProcessInfo.processInfo.environment["ORACLE_DUMP"] {
            try script.transcript(expected).write(toFile: "\(dir)/\(name).etcd", atomically: true, encoding: .utf8)
            try script.transcript(actual).write(toFile: "\(dir)/\(name).swift-etcd", atomically: true, encoding: .utf8)
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

/// A parsed oracle script (see Oracle/kv.txt and Oracle/watch-lease.txt for
/// the format).
struct OracleScript {
    enum Kind {
        case command
        case background(String)
        case waitFor(String, text: String)
        case untilEmpty
    }

    struct Step {
        var line: Int
        var kind: Kind
        var arguments: [String]
        var stdin: Data?
        var capture: String?
        var display: String
    }

    var steps: [Step] = []

    init(named name: String) throws {
        let url = Paths.packageRoot.appendingPathComponent("Tests/IntegrationTests/Oracle/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            steps.append(Self.parse(line, number: number + 1))
        }
    }

    private static func parse(_ line: String, number: Int) -> Step {
        var command = line
        var stdin: Data?
        var capture: String?
        if let marker = command.range(of: " => ") {
            capture = String(command[marker.upperBound...]).trimmingCharacters(in: .whitespaces)
            command = String(command[..<marker.lowerBound])
        }
        if let marker = command.range(of: "<<<") {
            stdin = Self.stdin(for: String(command[marker.upperBound...]).trimmingCharacters(in: .whitespaces))
            command = String(command[..<marker.lowerBound]).trimmingCharacters(in: .whitespaces)
        }
        var kind = Kind.command
        if command.hasPrefix("&wait ") {
            let parts = command.split(separator: " ", maxSplits: 2).map(String.init)
            kind = .waitFor(parts[1], text: parts.count > 2 ? parts[2] : "")
            command = ""
        } else if command.hasPrefix("& ") {
            kind = .background(capture ?? "bg")
            capture = nil
            command = String(command.dropFirst(2))
            // A background command's stdin is written once and kept open
            // (`watch -i` exits at end of input).
        } else if command.hasPrefix("?until-empty ") {
            kind = .untilEmpty
            command = String(command.dropFirst("?until-empty ".count))
        }
        let arguments = command.split(separator: " ").map { token -> String in
            token == "\\e" ? "" : token.replacingOccurrences(of: "\\s", with: " ")
        }
        return Step(line: number, kind: kind, arguments: arguments, stdin: stdin, capture: capture, display: line)
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
        var variables: [String: String] = [:]
        var background: [String: BackgroundCommand] = [:]
        defer { for b in background.values { b.stop() } }
        var results: [CommandResult] = []
        for step in steps {
            let arguments = step.arguments.map { arg in
                variables.reduce(arg) { $0.replacingOccurrences(of: "$" + $1.key, with: $1.value) }
            }
            var r: CommandResult
            switch step.kind {
            case .command:
                r = try node.ctl(arguments, stdin: step.stdin)
            case .untilEmpty:
                r = try node.ctl(arguments)
                let deadline = ContinuousClock.now + .seconds(10)
                for _ in 0..<200 where !r.stdout.isEmpty && ContinuousClock.now < deadline {
                    Thread.sleep(forTimeInterval: 0.05)
                    r = try node.ctl(arguments)
                }
            case .background(let name):
                background[name] = try node.background(arguments, stdin: step.stdin)
                r = CommandResult(exitCode: 0, stdout: "", stderr: "")
            case .waitFor(let name, let text):
                guard let b = background.removeValue(forKey: name) else {
                    throw TestFailure("line \(step.line): no background command \(name)")
                }
                r = b.finish(waitingFor: text, timeout: .seconds(10))
            }
            if let name = step.capture, let id = Self.firstID(in: r.stdout) { variables[name] = id }
            r.stdout = Normalizer.normalize(r.stdout)
            r.stderr = Normalizer.normalize(r.stderr)
            results.append(r)
        }
        return results
    }

    /// The first lease or member ID (16 hex digits) in etcdctl's output.
    private static func firstID(in text: String) -> String? {
        guard let range = text.range(of: "[0-9a-f]{16}", options: .regularExpression) else { return nil }
        return String(text[range])
    }
}

/// Erases what legitimately differs between two servers: member and cluster
/// IDs, timestamps, client UUIDs, lease IDs, remaining TTLs and latencies.
enum Normalizer {
    private static let rules: [(String, String)] = [
        (#""ts":"[^"]*""#, #""ts":"TS""#),
        (#"endpoint://client-[0-9a-f-]+/"#, "endpoint://client-ID/"),
        (#""cluster_id":[0-9]+"#, #""cluster_id":ID"#),
        (#""member_id":[0-9]+"#, #""member_id":ID"#),
        (#""ClusterID" : [0-9]+"#, #""ClusterID" : ID"#),
        (#""MemberID" : [0-9]+"#, #""MemberID" : ID"#),
        (#"took = [0-9.]+[a-zµ]*"#, "took = T"),
        (#"\b[0-9a-f]{16}\b"#, "HEXID"),
        (#""ID":[0-9]+"#, #""ID":ID"#),
        (#""lease":[0-9]+"#, #""lease":ID"#),
        (#"remaining\([0-9]+s\)"#, "remaining(Rs)"),
        (#""ttl":[0-9]+"#, #""ttl":TTL"#),
    ]

    static func normalize(_ text: String) -> String {
        var out = text
        for (pattern, replacement) in rules {
            out = out.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return sortingAttachedKeys(out)
    }

    /// etcd 3.4 lists a lease's keys by iterating a Go map, so their order
    /// changes from run to run; compare them as a set.
    static func sortingAttachedKeys(_ text: String) -> String {
        let marker = "attached keys(["
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: marker), let end = rest[start.upperBound...].range(of: "])") {
            let keys = rest[start.upperBound..<end.lowerBound].split(separator: " ").sorted()
            out += rest[..<start.upperBound] + keys.joined(separator: " ") + "])"
            rest = rest[end.upperBound...]
        }
        return out + rest
    }
}
