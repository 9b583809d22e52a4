import EtcdAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Testing

/// What etcdctl cannot express, checked with our own generated gRPC client
/// against a real swift-etcd process.
@Suite(.serialized)
struct GRPCClientTests {
    @Test("KV options beyond etcdctl: count_only, revision filters, nested txn, empty ops")
    func kvOptions() async throws {
        let node = try EtcdNode(kind: .swiftEtcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        defer { node.stop() }
        try await withEtcdClient(port: node.clientPort) { client in
            let kv = Etcdserverpb_KV.Client(wrapping: client)
            for i in 0..<5 {
                _ = try await kv.put(.with { $0.key = Data("p/\(i)".utf8); $0.value = Data("v\(i)".utf8) })
            }
            // count_only: the count without the pairs.
            let counted = try await kv.range(.with {
                $0.key = Data("p/".utf8); $0.rangeEnd = Data("p0".utf8); $0.countOnly = true
            })
            #expect(counted.count == 5)
            #expect(counted.kvs.isEmpty)
            // Revisions 2...6 hold p/0...p/4: keep those modified in 3...4.
            let filtered = try await kv.range(.with {
                $0.key = Data("p/".utf8); $0.rangeEnd = Data("p0".utf8)
                $0.minModRevision = 3; $0.maxModRevision = 4
            })
            #expect(filtered.kvs.map { String(decoding: $0.key, as: UTF8.self) } == ["p/1", "p/2"])
            // A nested txn runs its own branch; one revision for all writes.
            let nested = try await kv.txn(.with {
                $0.compare = [.with { $0.key = Data("p/0".utf8); $0.target = .version; $0.result = .equal; $0.version = 1 }]
                $0.success = [
                    .with { $0.requestPut = .with { $0.key = Data("n/a".utf8); $0.value = Data("1".utf8) } },
                    .with {
                        $0.requestTxn = .with {
                            $0.compare = [.with { $0.key = Data("p/1".utf8); $0.target = .value; $0.result = .equal; $0.value = Data("nope".utf8) }]
                            $0.failure = [.with { $0.requestPut = .with { $0.key = Data("n/b".utf8); $0.value = Data("2".utf8) } }]
                        }
                    },
                ]
            })
            #expect(nested.succeeded)
            #expect(nested.responses.count == 2)
            #expect(nested.responses[1].responseTxn.succeeded == false)
            #expect(nested.header.revision == 7)
            let both = try await kv.range(.with { $0.key = Data("n/".utf8); $0.rangeEnd = Data("n0".utf8) })
            #expect(both.kvs.map(\.modRevision) == [7, 7])
            // A txn op with no request set is etcd's "key not found".
            await #expect(throws: RPCError.self) {
                _ = try await kv.txn(.with { $0.success = [Etcdserverpb_RequestOp()] })
            }
            do {
                _ = try await kv.put(.with { $0.key = Data("absent".utf8); $0.ignoreValue = true })
                Issue.record("ignore_value on a missing key must fail")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message == "etcdserver: key not found")
            }
        }
    }

    @Test("A method the server does not serve answers UNIMPLEMENTED, and the server stays up")
    func unimplementedMethod() async throws {
        let node = try EtcdNode(kind: .swiftEtcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        defer { node.stop() }
        try await withEtcdClient(port: node.clientPort) { client in
            // Every method of etcd 3.4's v3 API is served; this one is not in it.
            let missing = MethodDescriptor(fullyQualifiedService: "etcdserverpb.KV", method: "Missing")
            do {
                _ = try await client.unary(
                    request: ClientRequest(message: Etcdserverpb_RangeRequest()), descriptor: missing,
                    serializer: ProtobufSerializer<Etcdserverpb_RangeRequest>(),
                    deserializer: ProtobufDeserializer<Etcdserverpb_RangeResponse>(), options: .defaults
                ) { try $0.message }
                Issue.record("etcdserverpb.KV/Missing must be unimplemented")
            } catch let error as RPCError {
                #expect(error.code == .unimplemented)
            }
            let kv = Etcdserverpb_KV.Client(wrapping: client)
            _ = try await kv.put(.with { $0.key = Data("still".utf8); $0.value = Data("up".utf8) })
        }
    }

    /// The full 1,000 × 1,000 takes minutes in a debug build (a million
    /// responses); CI runs 200 watchers × 500 writes, and
    /// `SWIFT_ETCD_FANOUT=1000x1000` (with a release build) runs it all.
    static var fanOutShape: (watchers: Int, writes: Int) {
        let spec = ProcessInfo.processInfo.environment["SWIFT_ETCD_FANOUT"] ?? "200x500"
        let parts = spec.split(separator: "x").compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : (200, 500)
    }

    @Test("Watchers on one prefix each see every write, in order, once")
    func watchFanOut() async throws {
        let node = try EtcdNode(kind: .swiftEtcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        defer { node.stop() }
        let streams = 10
        let watchersPerStream = Self.fanOutShape.watchers / streams
        let writes = Self.fanOutShape.writes
        try await withEtcdClient(port: node.clientPort) { client in
            let watch = Etcdserverpb_Watch.Client(wrapping: client)
            let kv = Etcdserverpb_KV.Client(wrapping: client)
            try await withThrowingTaskGroup(of: [Int64: [Int64]].self) { group in
                for _ in 0..<streams {
                    group.addTask {
                        // Keeps the send side open until every response is in.
                        let (done, finish) = AsyncStream<Void>.makeStream()
                        // Every watcher starts at revision 2, so none can miss
                        // a write however late it registers.
                        return try await watch.watch { writer in
                            for _ in 0..<watchersPerStream {
                                try await writer.write(.with {
                                    $0.createRequest = .with {
                                        $0.key = Data("fan/".utf8); $0.rangeEnd = Data("fan0".utf8); $0.startRevision = 2
                                    }
                                })
                            }
                            for await _ in done {}
                        } onResponse: { response in
                            defer { finish.finish() }
                            var seen: [Int64: [Int64]] = [:]
                            var complete = Set<Int64>()
                            for try await message in response.messages {
                                for event in message.events {
                                    seen[message.watchID, default: []].append(event.kv.modRevision)
                                    if event.kv.modRevision == Int64(writes + 1) { complete.insert(message.watchID) }
                                }
                                if complete.count == watchersPerStream { break }
                            }
                            return seen
                        }
                    }
                }
                for i in 0..<writes {
                    _ = try await kv.put(.with { $0.key = Data("fan/\(i % 37)".utf8); $0.value = Data("\(i)".utf8) })
                }
                let expected = Array(Int64(2)...Int64(writes + 1))
                var watchers = 0
                var wrong: [String] = []
                for try await seen in group {
                    for (id, revisions) in seen {
                        watchers += 1
                        if revisions != expected {
                            wrong.append("watcher \(id): \(revisions.count) events, first \(revisions.first ?? 0), last \(revisions.last ?? 0), distinct \(Set(revisions).count)")
                        }
                    }
                }
                #expect(watchers == streams * watchersPerStream)
                #expect(wrong.isEmpty, "\(wrong.count) watchers saw the wrong events: \(wrong.prefix(5))")
            }
        }
    }
}

/// A gRPC client connected to 127.0.0.1:port for the body's duration.
func withEtcdClient<T: Sendable>(
    port: Int, _ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T
) async throws -> T {
    try await withGRPCClient(
        transport: .http2NIOPosix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
            config: .defaults { $0.http2.targetWindowSize = 8 * 1024 * 1024 })
    ) { client in
        try await body(client)
    }
}
