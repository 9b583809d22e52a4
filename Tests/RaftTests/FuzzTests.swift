import Raft
import RaftTestSupport
import Testing

/// Arbitrary peer input must never crash a node: malformed messages are rejected, and
/// well-formed but nonsensical ones are handled without traps.
@Suite("Robustness against arbitrary input")
struct FuzzTests {
    private func randomMessage(_ rng: inout SplitMix64, to: NodeID, currentTerm: UInt64) -> Message {
        let types = MessageType.allCases
        let type = types[Int(rng.next(below: UInt64(types.count)))]
        func small() -> UInt64 { rng.chance(1, in: 20) ? rng.next() : rng.next(below: 12) }
        // Mostly plausible terms, so messages get past the term checks and reach the handlers.
        let term = rng.chance(2, in: 3) ? currentTerm + rng.next(below: 2) : small()
        var m = Message(
            type: type, to: to, from: 1 + rng.next(below: 4), term: term, logTerm: small(),
            index: small(), commit: small(), reject: rng.chance(1, in: 2), rejectHint: small(),
            context: rng.chance(1, in: 3) ? [UInt8(rng.next(below: 4))] : [])
        let count = Int(rng.next(below: 4))
        if rng.chance(1, in: 2) {
            // Consecutive entries after (index, logTerm), as a real leader sends.
            let term = m.term
            m.entries = (0..<count).map { Entry(term: term, index: m.index + 1 + UInt64($0), data: [1]) }
        } else {
            m.entries = (0..<count).map { _ in Entry(term: small(), index: small(), data: [2]) }
        }
        if type == .snap && rng.chance(1, in: 2) {
            m.snapshot = Snapshot(data: [], metadata: SnapshotMetadata(
                index: small(), term: small(), confState: ConfState(voters: [1, 2, 3])))
        }
        return m
    }

    @Test(arguments: UInt64(1)...12)
    func randomMessagesNeverCrashANode(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let cluster = Cluster(size: 3, seed: seed)
        if seed % 2 == 0 {
            cluster.campaign(1)
            cluster.stabilize()
        }
        for round in 0..<3000 {
            let target = 1 + rng.next(below: 3)
            let message = randomMessage(&rng, to: target, currentTerm: cluster.raft(target)?.term ?? 1)
            cluster.mutate(target) { raft in _ = try? raft.step(message) }
            cluster.process(target)
            if round % 50 == 0 { cluster.tickAll() }
        }
        // Still a working cluster afterwards.
        cluster.run(rounds: 60)
        cluster.stabilize()
        #expect(cluster.agreedLeader() != nil)
    }

    @Test func malformedAppendIsRejected() {
        var node = RaftNode(config: RaftConfig(id: 2), storage: MemoryStorage(bootstrapVoters: [1, 2, 3]))
        let gap = Message(type: .app, to: 2, from: 1, term: 2, logTerm: 1, index: 3,
                          entries: [Entry(term: 2, index: 9)])
        #expect(throws: RaftError.malformedMessage) { try node.step(gap) }
        let future = Message(type: .app, to: 2, from: 1, term: 2, logTerm: 1, index: 3,
                             entries: [Entry(term: 5, index: 4)])
        #expect(throws: RaftError.malformedMessage) { try node.step(future) }
        let absurd = Message(type: .heartbeat, to: 2, from: 1, term: .max)
        #expect(throws: RaftError.malformedMessage) { try node.step(absurd) }
        #expect(node.term == 1, "nothing was adopted")
    }
}
