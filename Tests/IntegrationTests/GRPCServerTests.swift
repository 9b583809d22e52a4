import EtcdAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Testing

/// How the client port's gRPC server treats streams and connections, seen
/// from real clients (grpc-swift and etcdctl, i.e. grpc-go): watchers are
/// freed when a client resets its stream or goes away, a watch outlives the
/// client's half-close as in etcd, and Go clients' pings (keep-alive and
/// BDP estimation, one per burst of data they receive) never cost them the
/// connection. Runs against whichever server `SWIFT_ETCD_GRPC_SERVER`
/// selects.
@Suite(.serialized)
struct GRPCServerTests {
    static let watchers = "etcd_debugging_mvcc_watcher_total"

    static var servesLean: Bool {
        ProcessInfo.processInfo.environment["SWIFT_ETCD_GRPC_SERVER"] != "grpc-swift"
    }

    @Test("A watch ends and its watcher goes when the client resets the stream or closes the connection")
    func watchersAreFreed() async throws {
        let node = try EtcdNode(kind: .swiftEtcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        defer { node.stop() }
        let url = "http://\(node.endpoint)"
        // grpc-swift: the response handler returns after `created`, so the
        // client cancels the call (RST_STREAM) while its send side is open.
        try await withEtcdClient(port: node.clientPort) { client in
            let watch = Etcdserverpb_Watch.Client(wrapping: client)
            try? await watch.watch { writer in
                try await writer.write(.with { $0.createRequest = .with { $0.key = Data("a".utf8) } })
                try await Task.sleep(for: .seconds(30))
            } onResponse: { response in
                for try await message in response.messages where message.created { break }
                let counted = try GatewayTests.waitForGauge(Self.watchers, at: url, toBe: 1)
                #expect(counted)
            }
            let freed = try GatewayTests.waitForGauge(Self.watchers, at: url, toBe: 0)
            #expect(freed, "reset stream kept its watcher")
        }
        // etcdctl (grpc-go) killed mid-watch: the connection closes.
        let log = node.dataDir.appendingPathComponent("watch.log")
        let watcher = try ServerProcess(
            executable: Paths.etcdctl, arguments: ["--endpoints=\(node.endpoint)", "watch", "b"], logURL: log,
            environment: Self.etcdctlEnvironment)
        #expect(try GatewayTests.waitForGauge(Self.watchers, at: url, toBe: 1))
        watcher.stop()
        #expect(try GatewayTests.waitForGauge(Self.watchers, at: url, toBe: 0), "closed connection kept its watcher")
    }

    @Test("A watch goes on after the client half-closes its side, as etcd's does")
    func watchOutlivesHalfClose() async throws {
        var kinds: [EtcdNode.Kind] = [.swiftEtcd]
        if FileManager.default.isExecutableFile(atPath: Paths.etcd) { kinds.append(.etcd) }
        // grpc-swift's path ends the watch (WatchService stops at the end of
        // the requests); only the lean server has etcd's behaviour.
        if !Self.servesLean { kinds.removeAll { $0 == .swiftEtcd } }
        for kind in kinds {
            let node = try EtcdNode(kind: kind, clientPort: try Ports.free(), peerPort: try Ports.free())
            defer { node.stop() }
            try await withEtcdClient(port: node.clientPort) { client in
                let watch = Etcdserverpb_Watch.Client(wrapping: client)
                let kv = Etcdserverpb_KV.Client(wrapping: client)
                let value = try await watch.watch { writer in
                    // Returning ends the request stream: END_STREAM, a half-close.
                    try await writer.write(.with { $0.createRequest = .with { $0.key = Data("h".utf8) } })
                } onResponse: { response in
                    var messages = response.messages.makeAsyncIterator()
                    while let message = try await messages.next(), !message.created {}
                    // The put happens after the half-close reached the server
                    // (it sent `created` after reading the request; END_STREAM
                    // came with or right after it).
                    try await Task.sleep(for: .milliseconds(200))
                    _ = try await kv.put(.with { $0.key = Data("h".utf8); $0.value = Data("after".utf8) })
                    while let message = try await messages.next() {
                        if let event = message.events.first { return String(decoding: event.kv.value, as: UTF8.self) }
                    }
                    return "the watch ended"
                }
                #expect(value == "after", "\(kind)")
            }
        }
    }

    @Test("etcdctl (grpc-go) reads a 1 MB value and follows 500 events on one connection")
    func goClientPings() async throws {
        let node = try EtcdNode(kind: .swiftEtcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        defer { node.stop() }
        // A response spread over many flow-control round trips: the client
        // pings after each burst of DATA it receives.
        let big = String(repeating: "v", count: 1_000_000)
        #expect(try node.ctl(["put", "big"], stdin: Data(big.utf8)).exitCode == 0)
        let got = try node.ctl(["get", "big", "--print-value-only"])
        #expect(got.exitCode == 0, "\(got.stderr.suffix(500))")
        #expect(got.stdout.trimmingCharacters(in: .newlines).count == big.count)
        // Many small DATA frames on a long-lived stream: a ping each time.
        let log = node.dataDir.appendingPathComponent("watch.log")
        let watcher = try ServerProcess(
            executable: Paths.etcdctl, arguments: ["--endpoints=\(node.endpoint)", "watch", "w"], logURL: log,
            environment: Self.etcdctlEnvironment)
        defer { watcher.stop() }
        #expect(try GatewayTests.waitForGauge(Self.watchers, at: "http://\(node.endpoint)", toBe: 1))
        try await withEtcdClient(port: node.clientPort) { client in
            let kv = Etcdserverpb_KV.Client(wrapping: client)
            for i in 0..<500 {
                _ = try await kv.put(.with { $0.key = Data("w".utf8); $0.value = Data("v\(i)".utf8) })
            }
        }
        let deadline = ContinuousClock.now + .seconds(20)
        var seen = 0
        while ContinuousClock.now < deadline {
            seen = watcher.log.split(separator: "\n").filter { $0.hasPrefix("v") }.count
            if seen == 500 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(seen == 500, "\(watcher.log.suffix(500))")
    }

    static var etcdctlEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ETCDCTL_") }
        environment["ETCDCTL_API"] = "3"
        return environment
    }
}
