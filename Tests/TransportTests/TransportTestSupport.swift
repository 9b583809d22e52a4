import Logging
import NIOCore
import NIOPosix
import Raft
import Synchronization
import Testing

#if canImport(PeerTransport)
@testable import PeerTransport
#else
@testable import EtcdServer
#endif

/// Thread-safe append-only list, for values produced on event loops and read by a test.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
    var count: Int { values.withLock { $0.count } }
}

/// Keeps every log line (level and rendered message with metadata) for assertions.
struct CapturingLogHandler: LogHandler {
    let lines: Recorder<String>
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.append("\(event.level) \(event.message) \(rendered)")
    }
}

/// Polls `condition` every `interval` until it holds, at most `timeout` long. Returns whether
/// it held. Tests await observable state with this instead of sleeping a fixed time.
@discardableResult
func waitUntil(
    timeout: Duration = .seconds(10), interval: Duration = .milliseconds(10),
    _ condition: () async -> Bool
) async -> Bool {
    let polls = max(1, Int(timeout / interval))
    for _ in 0..<polls {
        if await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return await condition()
}

/// A transport under test with everything it produced recorded.
struct TestMember {
    let transport: PeerTransport
    let received: Recorder<Message>
    let events: Recorder<PeerEvent>
    let logs: Recorder<String>
    let address: PeerAddress
    let drains: [Task<Void, Never>]

    var id: NodeID { transport.localID }

    /// Builds, starts (on 127.0.0.1, port 0 unless given) and starts draining a transport.
    static func start(
        id: NodeID, clusterID: UInt64 = 0xC1, port: Int = 0, peers: [NodeID: PeerAddress] = [:],
        group: any EventLoopGroup, options: PeerTransportOptions = .testing
    ) async throws -> TestMember {
        let logs = Recorder<String>()
        let logger = Logger(label: "transport-\(id)") { _ in CapturingLogHandler(lines: logs) }
        let transport = PeerTransport(
            localID: id, clusterID: clusterID, listenAddress: PeerAddress(host: "127.0.0.1", port: port),
            peers: peers, logger: logger, eventLoopGroup: group, options: options)
        let address = try await transport.start()
        let received = Recorder<Message>()
        let events = Recorder<PeerEvent>()
        let drains = [
            Task { for await message in transport.incoming { received.append(message) } },
            Task { for await event in transport.events { events.append(event) } },
        ]
        return TestMember(
            transport: transport, received: received, events: events, logs: logs, address: address, drains: drains)
    }

    func stop() async {
        await transport.stop()
        for drain in drains { await drain.value }
    }

    func count(_ event: PeerEvent) -> Int { events.all.filter { $0 == event }.count }

    func logged(_ fragment: String) -> Bool { logs.all.contains { $0.contains(fragment) } }
}

extension PeerTransportOptions {
    /// Defaults with a fixed seed and short reconnect delays, so tests run fast.
    static var testing: PeerTransportOptions {
        var options = PeerTransportOptions()
        options.backoffSeed = 42
        options.initialBackoff = .milliseconds(20)
        options.maxBackoff = .milliseconds(200)
        // Long enough that a busy CI machine never closes a test's raw
        // connection for slowness before the frame under test is read.
        options.handshakeTimeout = .seconds(10)
        return options
    }
}

func heartbeat(from: NodeID, to: NodeID, commit: UInt64) -> Message {
    Message(type: .heartbeat, to: to, from: from, term: 1, commit: commit)
}

/// Two members of one cluster that know each other, with both streams established.
func connectedPair(
    group: any EventLoopGroup, options: PeerTransportOptions = .testing
) async throws -> (TestMember, TestMember) {
    let a = try await TestMember.start(id: 1, group: group, options: options)
    let b = try await TestMember.start(id: 2, group: group, options: options)
    a.transport.setPeers([2: b.address])
    b.transport.setPeers([1: a.address])
    let up = await waitUntil { a.count(.active(2)) >= 1 && b.count(.active(1)) >= 1 }
    #expect(up, "streams did not come up")
    return (a, b)
}

/// Runs `body` with a fresh two-thread event loop group, shut down afterwards.
func withGroup(_ body: (any EventLoopGroup) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    do {
        try await body(group)
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
    try await group.shutdownGracefully()
}
