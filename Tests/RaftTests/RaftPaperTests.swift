import Raft
import RaftTestSupport
import Testing

/// Runs a 5-node cluster through partitions, drops, duplicates, reorders, crashes and
/// compactions, calling `observe` after every round. Ends with a healed, quiet cluster.
private func chaoticRun(seed: UInt64, rounds: Int = 300, observe: (Cluster) -> Void) -> Cluster {
    var rng = SplitMix64(seed: seed)
    let faults = NetworkFaults(dropPerMille: 100, duplicatePerMille: 50, maxDelay: 2, reorder: true)
    let cluster = Cluster(size: 5, seed: seed, electionTick: 10, heartbeatTick: 2, faults: faults)
    var next = 0
    for round in 0..<rounds {
        if rng.chance(1, in: 20) {
            let ids = cluster.ids
            let cut = Int(rng.next(below: UInt64(ids.count)))
            cluster.partition([Array(ids[..<cut]), Array(ids[cut...])])
        }
        if rng.chance(1, in: 15) { cluster.heal() }
        if rng.chance(1, in: 40) { cluster.crash(1 + rng.next(below: 5)) }
        if rng.chance(1, in: 10) { cluster.restart(1 + rng.next(below: 5)) }
        if rng.chance(1, in: 3) {
            next += 1
            try? cluster.propose(1 + rng.next(below: 5), Array("s\(seed)-\(next)".utf8))
        }
        if round % 50 == 49 { cluster.compact(1 + rng.next(below: 5), keep: 2) }
        cluster.tickAll()
        cluster.deliverRound()
        observe(cluster)
    }
    cluster.heal()
    cluster.network.faults = .none
    for id in cluster.ids { cluster.restart(id) }
    cluster.run(rounds: 60)
    cluster.stabilize()
    observe(cluster)
    return cluster
}

private let seeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8]

/// The five guarantees of Figure 3 of the Raft paper, each checked directly (not only via
/// `SafetyChecker`) across chaotic runs.
@Suite("Raft paper: Figure 3 properties")
struct RaftPaperTests {
    @Test("Election Safety: at most one leader can be elected in a given term", arguments: seeds)
    func electionSafety(seed: UInt64) {
        var leaderOfTerm: [UInt64: NodeID] = [:]
        var violations: [String] = []
        let cluster = chaoticRun(seed: seed) { cluster in
            for id in cluster.leaders {
                guard let term = cluster.raft(id)?.term else { continue }
                if let other = leaderOfTerm[term], other != id { violations.append("term \(term): \(other) and \(id)") }
                leaderOfTerm[term] = id
            }
        }
        #expect(violations.isEmpty)
        #expect(leaderOfTerm.count >= 1, "the run elected leaders")
        #expect(cluster.checker.isSafe, "\(cluster.checker.violations)")
    }

    @Test("Leader Append-Only: a leader never overwrites or deletes entries in its log", arguments: seeds)
    func leaderAppendOnly(seed: UInt64) {
        // For each (leader, term): the log it had when last seen.
        var seen: [NodeID: (term: UInt64, entries: [Entry])] = [:]
        var violations: [String] = []
        _ = chaoticRun(seed: seed) { cluster in
            for id in cluster.liveIDs {
                guard let raft = cluster.raft(id), raft.role == .leader else {
                    seen[id] = nil
                    continue
                }
                let entries = raft.entries(from: raft.firstIndex)
                if let previous = seen[id], previous.term == raft.term {
                    // Every earlier entry still there (unless compacted away), unchanged.
                    let kept = previous.entries.filter { $0.index >= raft.firstIndex }
                    let now = Dictionary(entries.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
                    if kept.contains(where: { now[$0.index] != $0 }) { violations.append("leader \(id) term \(raft.term)") }
                }
                seen[id] = (raft.term, entries)
            }
        }
        #expect(violations.isEmpty)
    }

    @Test("Log Matching: same index and term means identical logs up to that index", arguments: seeds)
    func logMatching(seed: UInt64) {
        var violations: [String] = []
        let cluster = chaoticRun(seed: seed) { cluster in
            let logs = cluster.liveIDs.compactMap { id in cluster.raft(id).map { (id, $0) } }
            for (a, ra) in logs {
                for (b, rb) in logs where a < b {
                    let lo = max(ra.firstIndex, rb.firstIndex)
                    let hi = min(ra.lastIndex, rb.lastIndex)
                    guard lo <= hi else { continue }
                    let ea = ra.entries(from: lo), eb = rb.entries(from: lo)
                    // Find the last index where both have the same term: all before must match.
                    guard let last = (lo...hi).last(where: { ra.entryTerm(at: $0) == rb.entryTerm(at: $0) }) else { continue }
                    let count = Int(last - lo + 1)
                    if Array(ea.prefix(count)) != Array(eb.prefix(count)) {
                        violations.append("nodes \(a) and \(b) differ before index \(last)")
                    }
                }
            }
        }
        #expect(violations.isEmpty)
        // After healing, all logs are identical.
        let lasts = Set(cluster.ids.compactMap { cluster.raft($0)?.lastIndex })
        #expect(lasts.count == 1)
    }

    @Test("Leader Completeness: a committed entry is in the log of every later leader", arguments: seeds)
    func leaderCompleteness(seed: UInt64) {
        var committed: [UInt64: Entry] = [:]  // index → entry, from any node's applied log
        var violations: [String] = []
        _ = chaoticRun(seed: seed) { cluster in
            for id in cluster.liveIDs {
                guard let raft = cluster.raft(id) else { continue }
                let applied = cluster.node(id)?.appliedIndex ?? 0
                let from = max(raft.firstIndex, applied > 20 ? applied - 20 : 1)
                for entry in raft.entries(from: from) where entry.index <= applied { committed[entry.index] = entry }
            }
            for id in cluster.leaders {
                guard let raft = cluster.raft(id) else { continue }
                for (index, entry) in committed where index >= raft.firstIndex && entry.term <= raft.term {
                    if raft.entryTerm(at: index) != entry.term {
                        violations.append("leader \(id) (term \(raft.term)) lacks \(index)/\(entry.term)")
                    }
                }
            }
        }
        #expect(violations.isEmpty, "\(violations.prefix(3))")
        #expect(!committed.isEmpty)
    }

    @Test("State Machine Safety: no two servers apply different entries at one index", arguments: seeds)
    func stateMachineSafety(seed: UInt64) {
        let cluster = chaoticRun(seed: seed) { _ in }
        let machines = cluster.ids.compactMap { cluster.node($0)?.stateMachine.values }
        // Applied sequences are prefixes of one another; after healing they are equal.
        #expect(Set(machines).count == 1)
        #expect((machines.first?.count ?? 0) > 0)
        #expect(cluster.checker.isSafe, "\(cluster.checker.violations)")
    }

    // MARK: Rules behind the properties (§5.2, §5.4.1)

    @Test("A server grants at most one vote per term, and only to an up-to-date candidate")
    func voteRules() throws {
        var node = RaftNode(config: RaftConfig(id: 1), storage: craftedStorage(voters: [1, 2, 3], terms: [2, 2]))
        _ = node.ready()
        // Candidate 2 with a shorter log at the same last term: rejected.
        try node.step(Message(type: .vote, to: 1, from: 2, term: 3, logTerm: 2, index: 4))
        // Candidate 3 with an up-to-date log: granted, and the vote is remembered.
        try node.step(Message(type: .vote, to: 1, from: 3, term: 3, logTerm: 2, index: 5))
        // Candidate 2 again in the same term, now up to date: rejected (already voted).
        try node.step(Message(type: .vote, to: 1, from: 2, term: 3, logTerm: 2, index: 5))
        let ready = node.ready()
        let answers = ready.messages.filter { $0.type == .voteResp }.map { ($0.to, $0.reject) }
        #expect(answers.map(\.0) == [2, 3, 2])
        #expect(answers.map(\.1) == [true, false, true])
        #expect(ready.hardState?.vote == 3)
        #expect(ready.hardState?.term == 3)
        #expect(ready.mustSync, "a vote must be durable before it is sent")
    }

    @Test("A server that sees a higher term becomes follower and adopts it")
    func higherTermDemotes() throws {
        let cluster = Cluster(size: 3)
        cluster.campaign(1)
        cluster.stabilize()
        try cluster.mutate(1) { raft in
            try raft.step(Message(type: .appResp, to: 1, from: 2, term: 9, index: 0))
        }
        #expect(cluster.raft(1)?.role == .follower)
        #expect(cluster.raft(1)?.term == 9)
    }

    @Test("A candidate that hears from the leader of its term steps down")
    func candidateYieldsToLeader() throws {
        var config = RaftConfig(id: 1)
        config.preVote = false
        var node = RaftNode(config: config, storage: MemoryStorage(bootstrapVoters: [1, 2, 3]))
        let ready = node.ready()
        for entry in ready.committedEntries {
            if let change = try? ConfChange(decoding: entry.data) { node.applyConfChange(change) }
        }
        node.advance(ready)
        node.campaign()
        #expect(node.role == .candidate)
        #expect(node.term == 2)
        try node.step(Message(type: .heartbeat, to: 1, from: 2, term: 2))
        #expect(node.role == .follower)
        #expect(node.lead == 2)
    }
}
