import Logging
import MVCC
import Testing

@testable import EtcdServer

/// etcd answers a compaction with `physical` set only once its old versions
/// are gone from the member's backend. Ours drops them a slice of 10,000
/// keys per tick of the periodic loop, so a physical compaction of more
/// keys than that must wait several ticks before it is answered.
@Suite struct PhysicalCompactionTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func aPhysicalCompactionIsAnsweredOnceEveryOldVersionIsDropped() async throws {
        let server = EtcdServer(config: ServerConfig(), logger: Logger(label: "test"))
        await server.startRaft()
        let loop = Task { try await server.run(progressInterval: .seconds(60)) }
        defer { loop.cancel() }

        // 25,600 keys written twice: three slices, so three ticks.
        for round in 0..<2 {
            for batch in 0..<200 {
                let puts = (0..<128).map { i in
                    RequestOp.put(PutRequest(key: Self.b("k\(batch)-\(i)"), value: Self.b("v\(round)")))
                }
                _ = try await server.txn(TxnRequest(compare: [], success: puts, failure: []))
            }
        }
        let revision = await server.stateMachine.store.currentRevision
        _ = try await server.compact(CompactionRequest(revision: revision, physical: true))
        #expect(await !server.stateMachine.store.isCompacting)

        // A plain compaction is answered as soon as it is applied, while its
        // slices are still to come.
        for batch in 0..<200 {
            let puts = (0..<128).map { i in
                RequestOp.put(PutRequest(key: Self.b("k\(batch)-\(i)"), value: Self.b("v2")))
            }
            _ = try await server.txn(TxnRequest(compare: [], success: puts, failure: []))
        }
        _ = try await server.compact(CompactionRequest(revision: await server.stateMachine.store.currentRevision))
        #expect(await server.stateMachine.store.isCompacting)
    }
}
