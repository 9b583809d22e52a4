import EtcdAPI
import Foundation
import GRPCCore
import Synchronization
import Testing

/// A real swift-etcd under concurrent writes is killed with SIGKILL at
/// arbitrary moments; after each restart every acknowledged put is there
/// with its revision, and revisions never go backwards.
@Suite(.serialized)
struct CrashTests {
    @Test("kill -9 under load loses no acknowledged write")
    func killNineLosesNothingAcknowledged() async throws {
        let clientPort = try Ports.free()
        let peerPort = try Ports.free()
        var node = try EtcdNode(kind: .swiftEtcd, clientPort: clientPort, peerPort: peerPort)
        let dataDir = node.dataDir
        var acknowledged: [String: Int64] = [:]
        var highestRevision: Int64 = 0
        var generator = SystemRandomNumberGenerator()

        for round in 0..<3 {
            // Four writers, so puts share fsyncs; each records what was
            // acknowledged. The kill comes at a random moment once at least
            // 100 puts were acknowledged (however slow the machine is).
            let extraDelay = Duration.milliseconds(Int.random(in: 0...400, using: &generator))
            let ackCount = AckCounter()
            let killed = AckCounter()
            let victim = node
            let acks = try await withEtcdClient(port: clientPort) { client in
                let kv = Etcdserverpb_KV.Client(wrapping: client)
                return await withTaskGroup(of: [(String, Int64)].self) { group in
                    for writer in 0..<4 {
                        group.addTask {
                            var done: [(String, Int64)] = []
                            for i in 0..<20_000 {
                                let key = "crash/\(round)/\(writer)/\(i)"
                                do {
                                    let r = try await kv.put(.with { $0.key = Data(key.utf8); $0.value = Data(key.utf8) })
                                    done.append((key, r.header.revision))
                                    ackCount.add()
                                } catch {
                                    // Before the kill a failure is a hiccup
                                    // (connection warming up): try again;
                                    // after it, the server is gone.
                                    if killed.value > 0 { break }
                                    try? await Task.sleep(for: .milliseconds(20))
                                }
                            }
                            return done
                        }
                    }
                    let deadline = ContinuousClock.now + .seconds(60)
                    for _ in 0..<6_000 where ackCount.value < 100 && ContinuousClock.now < deadline {
                        try? await Task.sleep(for: .milliseconds(10))
                    }
                    try? await Task.sleep(for: extraDelay)
                    victim.crash()
                    killed.add()
                    var all: [(String, Int64)] = []
                    for await part in group { all += part }
                    return all
                }
            }
            #expect(acks.count >= 100, "round \(round): only \(acks.count) puts were acknowledged before the kill")
            for (key, revision) in acks { acknowledged[key] = revision }
            highestRevision = max(highestRevision, acks.map(\.1).max() ?? 0)

            node = try EtcdNode(kind: .swiftEtcd, clientPort: clientPort, peerPort: peerPort, dataDir: dataDir)
            let expected = acknowledged
            let highest = highestRevision
            try await withEtcdClient(port: clientPort) { client in
                let kv = Etcdserverpb_KV.Client(wrapping: client)
                let all = try await kv.range(.with { $0.key = Data("crash/".utf8); $0.rangeEnd = Data("crash0".utf8) })
                var found: [String: Int64] = [:]
                for kv in all.kvs { found[String(decoding: kv.key, as: UTF8.self)] = kv.modRevision }
                let missing = expected.filter { found[$0.key] != $0.value }
                #expect(missing.isEmpty, "round \(round): \(missing.count) acknowledged puts lost or changed, e.g. \(missing.prefix(3))")
                #expect(all.header.revision >= highest, "revision went backwards")
            }
        }
        node.stop()
    }
}

/// A count shared by concurrent writers.
final class AckCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
