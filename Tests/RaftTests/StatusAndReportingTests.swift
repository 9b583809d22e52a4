import Raft
import RaftTestSupport
import Testing

@Suite("Status and transport reports")
struct StatusAndReportingTests {
    @Test func leaderStatusReportsProgressPerPeer() throws {
        let cluster = Cluster(size: 3)
        cluster.campaign(2)
        cluster.stabilize()
        try cluster.propose(2, Array("x".utf8))
        cluster.stabilize()
        let status = try #require(cluster.raft(2)?.status)
        #expect(status.role == .leader)
        #expect(status.lead == 2)
        #expect(status.term == 2)
        #expect(status.commit == 5)
        #expect(status.applied == 5)
        #expect(status.confState.voters == [1, 2, 3])
        #expect(Set(status.progress.keys) == [1, 2, 3])
        #expect(status.progress[1]?.match == 5)
        #expect(status.progress[1]?.state == .replicate)
        let follower = try #require(cluster.raft(1)?.status)
        #expect(follower.lead == 2)
        #expect(follower.progress.isEmpty, "only the leader tracks progress")
    }

    @Test func snapshotStatusReportsResumeOrRetryReplication() throws {
        let cluster = Cluster(size: 3)
        cluster.campaign(1)
        cluster.stabilize()
        cluster.isolate(3)
        for i in 0..<5 { try cluster.propose(1, Array("v\(i)".utf8)) }
        cluster.stabilize()
        cluster.compact(1)  // through index 9; node 3 only has up to 4
        cluster.heal()
        // Node 3 rejects the pipelined append at 9: the leader falls back to its match, finds
        // the entries compacted and sends a snapshot, pausing appends to node 3 until the
        // transport reports back.
        try cluster.mutate(1) { raft in
            try raft.step(Message(type: .appResp, to: 1, from: 3, term: 2, logTerm: 2, index: 9, reject: true, rejectHint: 4))
            #expect(raft.status.progress[3]?.state == .snapshot)
            raft.reportSnapshot(to: 3, failed: true)
            #expect(raft.status.progress[3]?.state == .probe)
            #expect(raft.status.progress[3]?.next == 5, "after a failure, probe from the old match again")
        }
        cluster.run(rounds: 3)
        cluster.stabilize()
        #expect(cluster.node(3)?.stateMachine.values.count == 5)
        #expect(cluster.raft(1)?.status.progress[3]?.state == .replicate)
    }

    @Test func unreachablePeerFallsBackToProbing() throws {
        let cluster = Cluster(size: 2)
        cluster.campaign(1)
        cluster.stabilize()
        #expect(cluster.raft(1)?.status.progress[2]?.state == .replicate)
        cluster.mutate(1) { raft in raft.reportUnreachable(2) }
        #expect(cluster.raft(1)?.status.progress[2]?.state == .probe)
    }

    @Test func stepRejectsLocalMessageTypesFromTheNetwork() {
        var node = RaftNode(config: RaftConfig(id: 1), storage: MemoryStorage(bootstrapVoters: [1, 2, 3]))
        #expect(throws: RaftError.localMessageFromNetwork) {
            try node.step(Message(type: .hup, to: 1, from: 2))
        }
        #expect(node.role == .follower)
    }

    @Test func electionTimeoutsAreRandomizedButReproducible() {
        func ticksUntilCampaign(seed: UInt64) -> Int {
            var config = RaftConfig(id: 1, randomSeed: seed)
            config.preVote = false
            var node = RaftNode(config: config, storage: MemoryStorage(bootstrapVoters: [1, 2, 3]))
            let ready = node.ready()
            for entry in ready.committedEntries {
                if let change = try? ConfChange(decoding: entry.data) { node.applyConfChange(change) }
            }
            node.advance(ready)
            for tick in 1...100 {
                node.tick()
                if node.role == .candidate { return tick }
            }
            return -1
        }
        let timeouts = (UInt64(1)...20).map(ticksUntilCampaign)
        #expect(timeouts.allSatisfy { (10..<20).contains($0) }, "\(timeouts)")
        #expect(Set(timeouts).count > 3, "randomized")
        #expect(timeouts == (UInt64(1)...20).map(ticksUntilCampaign), "deterministic per seed")
    }
}
