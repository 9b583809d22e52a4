import Raft
import RaftTestSupport
import Testing

/// A storage holding the bootstrap log for `voters`, then `terms.count` entries from index 4
/// with the given terms, and a hard state at the last of those terms.
func craftedStorage(voters: [NodeID], terms: [UInt64]) -> MemoryStorage {
    let storage = MemoryStorage(bootstrapVoters: voters)
    let start = UInt64(voters.count) + 1
    storage.append(terms.enumerated().map { Entry(term: $1, index: start + UInt64($0), data: Array("e\($0)".utf8)) })
    storage.setHardState(HardState(term: terms.last ?? 1, vote: .none, commit: UInt64(voters.count)))
    return storage
}

@Suite("Replication")
struct ReplicationTests {
    @Test func rejectHintSkipsAWholeConflictingTermInOneRoundTrip() {
        // Node 2 holds 17 uncommitted entries of term 2 from a deposed leader; node 1 holds 5
        // entries of term 3. Node 1 wins term 4 (its last term is higher) and must overwrite.
        let cluster = Cluster(storages: [
            1: craftedStorage(voters: [1, 2], terms: Array(repeating: 3, count: 5)),
            2: craftedStorage(voters: [1, 2], terms: Array(repeating: 2, count: 17)),
        ])
        cluster.recordsMessages = true
        cluster.campaign(1)
        cluster.stabilize()
        #expect(cluster.raft(1)?.role == .leader)
        let rejections = cluster.deliveredMessages.filter { $0.type == .appResp && $0.reject && $0.from == 2 }
        // The bootstrap log is indices 1...2, the crafted entries start at 3, and the leader
        // first probes at its old last index, 7. Probing one index at a time would take 5
        // rejections (7 down to 3); the hint (index 7, term 2) lets the leader skip all of
        // its term-3 entries at once.
        #expect(rejections.count == 1)
        #expect(rejections.first?.rejectHint == 7)
        #expect(rejections.first?.logTerm == 2)
        // The follower's log now equals the leader's.
        #expect(cluster.raft(2)?.entries(from: 3).map(\.term) == [3, 3, 3, 3, 3, 4])
        #expect(cluster.raft(2)?.committedIndex == 8)
    }

    @Test func followerBehindTheLeaderHintsItsLastIndex() {
        let cluster = Cluster(storages: [
            1: craftedStorage(voters: [1, 2], terms: Array(repeating: 2, count: 30)),
            2: craftedStorage(voters: [1, 2], terms: Array(repeating: 2, count: 3)),
        ])
        cluster.recordsMessages = true
        cluster.campaign(1)
        cluster.stabilize()
        let rejections = cluster.deliveredMessages.filter { $0.type == .appResp && $0.reject }
        #expect(rejections.count == 1)
        #expect(rejections.first?.rejectHint == 5, "the follower's last index")
        #expect(cluster.raft(2)?.lastIndex == cluster.raft(1)?.lastIndex)
    }

    @Test func inflightLimitPausesAppendsToASilentFollower() {
        let cluster = Cluster(size: 2)
        cluster.maxInflightMsgs = 2
        cluster.restartAll()
        cluster.campaign(1)
        cluster.stabilize()
        cluster.recordsMessages = true
        cluster.network.cut(from: 2, to: 1)  // acknowledgements are lost
        for i in 0..<10 { try? cluster.propose(1, Array("v\(i)".utf8)) }
        cluster.stabilize()
        let appends = cluster.deliveredMessages.filter { $0.type == .app && $0.to == 2 && !$0.entries.isEmpty }
        #expect(appends.count == 2, "no more than maxInflightMsgs unacknowledged appends")
        cluster.heal()
        cluster.run(rounds: 3)
        cluster.stabilize()
        #expect(cluster.node(2)?.stateMachine.values.count == 10)
    }

    @Test func appendsAreSplitAtMaxSizePerMessage() {
        let cluster = Cluster(size: 2)
        cluster.maxMessageBytes = 300
        cluster.restartAll()
        cluster.campaign(1)
        cluster.stabilize()
        cluster.isolate(2)
        let payload = [UInt8](repeating: 7, count: 100)
        for i in 0..<6 { try? cluster.propose(1, payload + [UInt8(i)]) }
        cluster.stabilize()
        cluster.heal()
        cluster.recordsMessages = true
        cluster.run(rounds: 3)
        cluster.stabilize()
        let appends = cluster.deliveredMessages.filter { $0.type == .app && !$0.entries.isEmpty }
        #expect(!appends.isEmpty)
        #expect(appends.allSatisfy { $0.entries.count <= 2 }, "each entry is ~125 bytes; 3 exceed 300")
        #expect(cluster.node(2)?.stateMachine.values.count == 6)
    }

    @Test func uncommittedSizeLimitPushesBackWhenNothingCommits() throws {
        let cluster = Cluster(size: 3)
        cluster.maxUncommittedEntriesSize = 10
        cluster.restartAll()
        cluster.campaign(1)
        cluster.stabilize()
        cluster.partition([[1], [2, 3]])
        try cluster.propose(1, Array("123456".utf8))  // always admitted when nothing is pending
        #expect(throws: RaftError.proposalDropped) { try cluster.propose(1, Array("789012".utf8)) }
        try cluster.propose(1, [])  // empty proposals never count
        cluster.heal()
        cluster.run(rounds: 3)
        cluster.stabilize()
        #expect(cluster.node(1)?.stateMachine.values == [Array("123456".utf8)])
        // Once the backlog committed, proposals are admitted again.
        try cluster.propose(1, Array("789012".utf8))
        cluster.stabilize()
        #expect(cluster.node(2)?.stateMachine.values.count == 2)
    }

    @Test func leaderCommitsOnlyEntriesOfItsOwnTermByCountingReplicas() {
        // Figure 8: node 1 holds an entry of term 2 at index 4 that node 2 also holds. Counting
        // replicas must not commit it in term 3; only the leader's own no-op commits it.
        let cluster = Cluster(storages: [
            1: craftedStorage(voters: [1, 2, 3], terms: [2]),
            2: craftedStorage(voters: [1, 2, 3], terms: [2]),
            3: craftedStorage(voters: [1, 2, 3], terms: []),
        ])
        cluster.isolate(3)
        cluster.campaign(1)
        // Deliver until node 1 leads, without letting it persist its no-op yet.
        for _ in 0..<10 where cluster.raft(1)?.role != .leader { cluster.deliverRound() }
        #expect(cluster.raft(1)?.role == .leader)
        #expect(cluster.raft(1)?.term == 3)
        try? cluster.mutate(1) { raft in
            // Node 2 acknowledges index 4 (term 2), which it already has.
            try raft.step(Message(type: .appResp, to: 1, from: 2, term: 3, index: 4))
        }
        #expect(cluster.raft(1)?.committedIndex == 3, "an old-term entry is not committed by counting")
        cluster.stabilize()
        #expect(cluster.raft(1)?.committedIndex == 5, "committing the no-op commits index 4 too")
    }

    @Test func leaderSendsAppendsBeforeItsOwnFsyncButDoesNotCountItself() {
        let cluster = Cluster(size: 3)
        cluster.campaign(1)
        cluster.stabilize()
        let before = cluster.raft(1)?.lastIndex ?? 0
        try? cluster.mutate(1) { raft in try raft.propose(Array("x".utf8)) }
        // The leader sends its appends, then crashes before persisting the entry.
        cluster.crashBeforePersisting(1)
        cluster.stabilize()
        #expect(cluster.node(1)?.storage.lastIndex() == before, "the unpersisted entry is lost")
        // The followers got it; a new leader commits it, and the old one learns it back.
        cluster.restart(1)
        cluster.run(rounds: 40)
        cluster.stabilize()
        #expect(cluster.checker.isSafe, "\(cluster.checker.violations)")
        for id in cluster.ids { #expect(cluster.node(id)?.stateMachine.contains(Array("x".utf8)) == true) }
    }
}
