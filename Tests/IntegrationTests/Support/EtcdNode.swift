import Foundation

/// One single-member server (real etcd or swift-etcd) on 127.0.0.1, started
/// with etcd's flags on the given ports and stopped by PID.
final class EtcdNode: @unchecked Sendable {
    enum Kind: String { case etcd, swiftEtcd = "swift-etcd" }

    let kind: Kind
    let clientPort: Int
    let peerPort: Int
    let dataDir: URL
    private let process: ServerProcess

    var endpoint: String { "127.0.0.1:\(clientPort)" }

    /// etcdctl flags for the health check that waits for the node (e.g.
    /// `--user=root:pw` once auth is on: an anonymous check is refused).
    private let healthArguments: [String]

    /// Starts a node; with `dataDir`, on that existing directory (a restart).
    init(
        kind: Kind, clientPort: Int, peerPort: Int, name: String = "n1", dataDir existing: URL? = nil,
        arguments: [String] = [], healthArguments: [String] = [], environment extraEnvironment: [String: String] = [:]
    ) throws {
        self.healthArguments = healthArguments
        self.kind = kind
        self.clientPort = clientPort
        self.peerPort = peerPort
        dataDir = try existing ?? Paths.makeTempDirectory("oracle-\(kind.rawValue)")
        let binary: String
        switch kind {
        case .etcd: binary = Paths.etcd
        case .swiftEtcd:
            guard let path = Paths.swiftEtcd else { throw TestFailure("swift-etcd is not built: run `swift build` first") }
            binary = path
        }
        let client = "http://127.0.0.1:\(clientPort)"
        let peer = "http://127.0.0.1:\(peerPort)"
        process = try ServerProcess(
            executable: binary,
            arguments: [
                "--name", name, "--data-dir", dataDir.appendingPathComponent("data").path,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "\(name)=\(peer)", "--initial-cluster-state", "new",
                "--initial-cluster-token", "oracle-token",
            ] + arguments + (kind == .swiftEtcd ? Self.extraArguments : []),
            logURL: dataDir.appendingPathComponent("server.log"),
            environment: extraEnvironment.isEmpty
                ? nil : ProcessInfo.processInfo.environment.merging(extraEnvironment) { $1 })
        try waitUntilServing()
    }

    /// `SWIFT_ETCD_EXTRA_ARGS="--log-level=debug"` passes flags to every
    /// swift-etcd the tests start (for debugging a failing test).
    static var extraArguments: [String] {
        (ProcessInfo.processInfo.environment["SWIFT_ETCD_EXTRA_ARGS"] ?? "").split(separator: " ").map(String.init)
    }

    /// Polls `etcdctl endpoint health` until it succeeds: at most 100 tries
    /// within about 20 seconds.
    private func waitUntilServing() throws {
        let deadline = ContinuousClock.now + .seconds(20)
        for _ in 0..<100 {
            let r = try ctl(["endpoint", "health", "--command-timeout=1s"] + healthArguments)
            if r.exitCode == 0 { return }
            if ContinuousClock.now > deadline { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw TestFailure("\(kind.rawValue) did not become healthy; log:\n\(process.log.suffix(2000))")
    }

    func ctl(_ arguments: [String], stdin: Data? = nil) throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ETCDCTL_") }
        environment["ETCDCTL_API"] = "3"
        return try ChildProcess.run(
            Paths.etcdctl, ["--endpoints=\(endpoint)", "--dial-timeout=2s", "--command-timeout=5s"] + arguments,
            stdin: stdin, environment: environment)
    }

    var log: String { process.log }

    /// `kill -9`: the process dies at once, its data directory stays.
    func crash() {
        keepData = true
        process.stop()
    }

    /// Set once the node crashed: its directory is handed to a restart.
    private var keepData = false

    /// Stops the server and removes its data directory (kept, with the
    /// server's log, when `SWIFT_ETCD_KEEP_DATA` is set).
    func stop() {
        process.stop()
        if !keepData && ProcessInfo.processInfo.environment["SWIFT_ETCD_KEEP_DATA"] == nil {
            try? FileManager.default.removeItem(at: dataDir)
        }
    }

    deinit { stop() }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension EtcdNode {
    /// Starts etcdctl in the background (for `watch`), collecting output.
    /// `stdin`, if given, is written at start and the pipe kept open until
    /// the command stops (interactive `watch -i` exits at end of input).
    func background(_ arguments: [String], stdin: Data? = nil) throws -> BackgroundCommand {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ETCDCTL_") }
        environment["ETCDCTL_API"] = "3"
        return try BackgroundCommand(
            Paths.etcdctl, ["--endpoints=\(endpoint)", "--dial-timeout=2s"] + arguments, environment: environment,
            stdin: stdin)
    }
}

/// A command left running while the test goes on; its output accumulates.
final class BackgroundCommand: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    /// Kept open for the command's lifetime when it was given input.
    private var inputPipe: Pipe?

    init(_ executable: String, _ arguments: [String], environment: [String: String], stdin: Data? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        if let stdin {
            let pipe = Pipe()
            process.standardInput = pipe
            inputPipe = pipe
            try process.run()
            try pipe.fileHandleForWriting.write(contentsOf: stdin)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.out.append(d) }
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.err.append(d) }
        }
        if inputPipe == nil { try process.run() }
    }

    private var output: (String, String) {
        lock.withLock { (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self)) }
    }

    /// Waits until the output holds `text` (or the command exits, or the
    /// timeout passes), then stops the command. A command we had to stop
    /// reports exit code -1; one that ended by itself, its own code.
    func finish(waitingFor text: String, timeout: Duration) -> CommandResult {
        let deadline = ContinuousClock.now + timeout
        for _ in 0..<2000 {
            let (o, e) = output
            if o.contains(text) || e.contains(text) || !process.isRunning || ContinuousClock.now > deadline { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        // Give a command that is about to exit on its own (a canceled watch)
        // a moment to do so, so its exit code is its own.
        for _ in 0..<50 where process.isRunning {
            Thread.sleep(forTimeInterval: 0.01)
        }
        var code: Int32 = -1
        if process.isRunning {
            stop()
        } else {
            code = process.terminationStatus
        }
        Thread.sleep(forTimeInterval: 0.05)
        let (o, e) = output
        return CommandResult(exitCode: code, stdout: o, stderr: e)
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? inputPipe?.fileHandleForWriting.close()
    }
}
