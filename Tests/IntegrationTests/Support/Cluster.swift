import Foundation

/// A cluster of real server processes on 127.0.0.1, each started with
/// etcd's flags and stopped by PID.
final class TestCluster: @unchecked Sendable {
    struct Spec {
        var name: String
        var clientPort: Int
        var peerPort: Int
    }

    let kind: EtcdNode.Kind
    private(set) var specs: [Spec]
    let root: URL
    /// Flags added to every member's command line.
    let extraArguments: [String]
    /// `http`, or `https` for TLS on the client or peer URLs.
    let clientScheme: String
    let peerScheme: String
    /// Flags added to every etcdctl command line (`--cacert`, `--cert`, `--key`).
    let ctlArguments: [String]
    private(set) var processes: [String: ServerProcess] = [:]

    init(
        kind: EtcdNode.Kind, size: Int, extraArguments: [String] = [], clientScheme: String = "http",
        peerScheme: String = "http", ctlArguments: [String] = []
    ) throws {
        self.kind = kind
        self.extraArguments = extraArguments
        self.clientScheme = clientScheme
        self.peerScheme = peerScheme
        self.ctlArguments = ctlArguments
        specs = try (1...size).map { Spec(name: "node\($0)", clientPort: try Ports.free(), peerPort: try Ports.free()) }
        root = try Paths.makeTempDirectory("cluster-\(kind.rawValue)")
        for spec in specs { try start(spec.name) }
    }

    var endpoints: [String] { specs.map { endpointPrefix + "127.0.0.1:\($0.clientPort)" } }

    func endpoint(_ name: String) -> String {
        endpointPrefix + "127.0.0.1:\(specs.first { $0.name == name }?.clientPort ?? 0)"
    }

    /// Plain endpoints stay `host:port`, as etcdctl users write them.
    private var endpointPrefix: String { clientScheme == "http" ? "" : "\(clientScheme)://" }

    /// A member to be added at runtime: ports chosen, not started.
    func plan(_ name: String) throws -> Spec {
        let spec = Spec(name: name, clientPort: try Ports.free(), peerPort: try Ports.free())
        specs.append(spec)
        return spec
    }

    func isRunning(_ name: String) -> Bool { processes[name]?.process.isRunning ?? false }

    /// Waits (bounded) until member `name`'s process exits on its own.
    func waitForExit(_ name: String, timeout: Duration = .seconds(20)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !isRunning(name) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    /// Starts member `name`; `members` limits `--initial-cluster` (for a
    /// member joining with `--initial-cluster-state existing`).
    func start(_ name: String, state: String = "new", members: [String]? = nil, arguments: [String] = []) throws {
        guard let spec = specs.first(where: { $0.name == name }) else { throw TestFailure("no member \(name)") }
        let specs = members.map { names in self.specs.filter { names.contains($0.name) } } ?? self.specs
        let binary: String
        switch kind {
        case .etcd: binary = Paths.etcd
        case .swiftEtcd:
            guard let path = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built") }
            binary = path
        }
        let initial = specs.map { "\($0.name)=\(peerScheme)://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        let client = "\(clientScheme)://127.0.0.1:\(spec.clientPort)"
        let peer = "\(peerScheme)://127.0.0.1:\(spec.peerPort)"
        processes[name] = try ServerProcess(
            executable: binary,
            arguments: [
                "--name", name, "--data-dir", root.appendingPathComponent(name).path,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial, "--initial-cluster-state", state,
                "--initial-cluster-token", "test-cluster",
            ] + extraArguments + arguments,
            logURL: root.appendingPathComponent("\(name).log"))
    }

    /// `kill -9` one member; its data directory stays for a restart.
    func kill(_ name: String) {
        processes.removeValue(forKey: name)?.stop()
    }

    /// The data directory of member `name`.
    func dataDir(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// The log of member `name` so far.
    func log(_ name: String) -> String {
        (try? String(contentsOf: root.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    func ctl(_ arguments: [String], endpoints: [String]? = nil, stdin: Data? = nil) throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ETCDCTL_") }
        environment["ETCDCTL_API"] = "3"
        let list = (endpoints ?? self.endpoints).joined(separator: ",")
        return try ChildProcess.run(
            Paths.etcdctl, ["--endpoints=\(list)", "--dial-timeout=2s", "--command-timeout=5s"] + ctlArguments + arguments,
            stdin: stdin, environment: environment, timeout: .seconds(20))
    }

    /// Retries `arguments` until it succeeds: at most 60 tries within ~30 s.
    func ctlUntilSuccess(_ arguments: [String], endpoints: [String]? = nil) throws -> CommandResult {
        try ctl(arguments, endpoints: endpoints, until: { $0.exitCode == 0 })
    }

    /// Retries `arguments` until `done` accepts the result: at most 60
    /// tries within ~30 s.
    func ctl(
        _ arguments: [String], endpoints: [String]? = nil, until done: (CommandResult) -> Bool
    ) throws -> CommandResult {
        var last = CommandResult(exitCode: -1, stdout: "", stderr: "")
        let deadline = ContinuousClock.now + .seconds(30)
        for _ in 0..<60 where ContinuousClock.now < deadline {
            last = try ctl(arguments, endpoints: endpoints)
            if done(last) { return last }
            Thread.sleep(forTimeInterval: 0.3)
        }
        throw TestFailure(
            "etcdctl \(arguments) never gave the expected result; last: \(last.stdout) \(last.stderr)\nlogs:\n\(logs.suffix(3000))")
    }

    var logs: String {
        specs.map { (try? String(contentsOf: root.appendingPathComponent("\($0.name).log"), encoding: .utf8)) ?? "" }
            .joined(separator: "\n")
    }

    func stop() {
        for p in processes.values { p.stop() }
        processes.removeAll()
        if ProcessInfo.processInfo.environment["SWIFT_ETCD_KEEP_DATA"] == nil {
            try? FileManager.default.removeItem(at: root)
        }
    }

    deinit { stop() }
}
