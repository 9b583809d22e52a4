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

/// A data directory swift-etcd cannot use is a clear error at start, never a
/// crash or a member running on someone else's data.
@Suite struct DataDirectoryTests {
    @Test("a data directory that cannot be created, or belongs to another member, is refused with advice")
    func unusableDataDirectories() throws {
        guard let ours = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built") }
        // Not creatable: its parent is a regular file.
        let root = try Paths.makeTempDirectory("datadir")
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        let blocked = try ChildProcess.run(
            ours, ["--data-dir", file.appendingPathComponent("data").path, "--listen-client-urls", "http://127.0.0.1:\(try Ports.free())",
                   "--advertise-client-urls", "http://127.0.0.1:1", "--listen-peer-urls", "http://127.0.0.1:\(try Ports.free())"],
            timeout: .seconds(20))
        #expect(blocked.exitCode == 1)
        #expect(blocked.stderr.contains("cannot open the data directory"), "\(blocked.stderr)")

        // Belongs to another member: bootstrap n1, then start n2 on its directory.
        let dataDir = root.appendingPathComponent("n1").path
        func start(_ name: String) throws -> ServerProcess {
            let peer = "http://127.0.0.1:\(try Ports.free())"
            let client = "http://127.0.0.1:\(try Ports.free())"
            return try ServerProcess(
                executable: ours,
                arguments: ["--name", name, "--data-dir", dataDir, "--listen-client-urls", client, "--advertise-client-urls", client,
                            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "\(name)=\(peer)"],
                logURL: root.appendingPathComponent("\(name).log"))
        }
        let first = try start("n1")
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: dataDir + "/member/wal"), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.3)
        first.stop()
        let second = try start("n2")
        let exitBy = ContinuousClock.now + .seconds(20)
        while second.process.isRunning, ContinuousClock.now < exitBy { Thread.sleep(forTimeInterval: 0.05) }
        defer { second.stop() }
        #expect(!second.process.isRunning, "a member on another member's data directory must not start")
        #expect(second.process.isRunning || second.process.terminationStatus == 1)
        #expect(second.log.contains("belongs to member"), "\(second.log)")
    }
}
