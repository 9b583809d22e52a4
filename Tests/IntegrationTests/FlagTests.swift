import Foundation
import Testing

/// swift-etcd refuses bad command lines the way etcd does: same exit code,
/// same first line, no server started.
@Suite struct FlagTests {
    static let cases: [[String]] = [
        ["--bogus"],
        ["--listen-client-urls=notaurl"],
        ["--max-txn-ops=abc"],
        ["--initial-cluster-state=maybe"],
        ["positional"],
    ]

    @Test("bad flags: same exit code and message as etcd", arguments: cases)
    func badFlagsMatchEtcd(arguments: [String]) throws {
        try requireOracle()
        guard let ours = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built") }
        let expected = try ChildProcess.run(Paths.etcd, arguments, timeout: .seconds(10))
        let actual = try ChildProcess.run(ours, arguments, timeout: .seconds(10))
        #expect(actual.exitCode == expected.exitCode)
        #expect(actual.exitCode != 0)
        let etcdFirst = expected.stderr.split(separator: "\n").first.map(String.init) ?? ""
        let ourFirst = actual.stderr.split(separator: "\n").first.map(String.init) ?? ""
        // etcd's fatal errors come through its logger; compare the message.
        let message = etcdFirst.replacingOccurrences(
            of: #"^[0-9-]+ [0-9:.]+ [A-Z] \| [a-z/]+: "#, with: "", options: .regularExpression)
        #expect(ourFirst.contains(message), "etcd: \(etcdFirst)\nours: \(ourFirst)")
    }

    @Test("conflicting ETCD_ variable and flag is refused, as etcd")
    func environmentConflict() throws {
        guard let ours = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built") }
        var env = ProcessInfo.processInfo.environment
        env["ETCD_NAME"] = "from-env"
        let r = try ChildProcess.run(ours, ["--name", "from-flag"], environment: env, timeout: .seconds(10))
        #expect(r.exitCode == 1)
        #expect(r.stderr.contains("conflicting environment variable \\\"ETCD_NAME\\\" is shadowed"))
    }

    @Test("--version prints the version and exits 0")
    func version() throws {
        guard let ours = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built") }
        let r = try ChildProcess.run(ours, ["--version"], timeout: .seconds(10))
        #expect(r.exitCode == 0)
        #expect(r.stdout.contains("etcd API Version: 3.4"))
    }
}
