import Logging
import MVCC
import Testing

@testable import EtcdServer

/// Writes and linearizable reads that reach the server together share one
/// Raft proposal and one ReadIndex request; every caller must still get
/// its own answer, and each read must see every write acknowledged before it.
@Suite struct ProposalAndReadBatchingTests {
    /// A single in-memory member that has elected itself (no ticks, no peers).
    static func member() async -> EtcdServer {
        let server = EtcdServer(config: ServerConfig(), logger: Logger(label: "test"))
        await server.startRaft()
        return server
    }

    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func concurrentLinearizableReadsAllComplete() async throws {
        let server = await Self.member()
        _ = try await server.put(PutRequest(key: Self.b("k"), value: Self.b("v")))
        let answered = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    let (response, _) = try await server.range(RangeRequest(key: Self.b("k")))
                    return response.count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(answered == 200)
    }

    @Test func concurrentPutsEachGetTheirOwnRevision() async throws {
        let server = await Self.member()
        let revisions = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try await server.put(PutRequest(key: Self.b("k\(i)"), value: Self.b("v"))).0.revision
                }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(Set(revisions).count == 200)
        #expect(revisions.max() == revisions.min()! + 199)
    }

    @Test func largeConcurrentPutsGoToRaftInSeveralBatches() async throws {
        let server = await Self.member()
        let value = [UInt8](repeating: 7, count: 1 << 20)
        let revisions = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<12 {
                group.addTask { try await server.put(PutRequest(key: Self.b("big\(i)"), value: value)).0.revision }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(Set(revisions).count == 12)
        let (read, _) = try await server.range(RangeRequest(key: Self.b("big"), rangeEnd: Self.b("bih")))
        #expect(read.kvs.count == 12 && read.kvs.allSatisfy { $0.value == value })
    }

    @Test func aReadAfterAnAcknowledgedWriteSeesIt() async throws {
        let server = await Self.member()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let key = Self.b("w\(i)")
                    let (put, _) = try await server.put(PutRequest(key: key, value: Self.b("v\(i)")))
                    let (read, _) = try await server.range(RangeRequest(key: key))
                    #expect(read.kvs.first?.modRevision == put.revision)
                    #expect(read.revision >= put.revision)
                }
            }
            try await group.waitForAll()
        }
    }
}
