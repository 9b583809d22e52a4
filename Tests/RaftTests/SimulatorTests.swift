import Raft
import RaftTestSupport
import Testing

@Suite("Seeded simulator")
struct SimulatorTests {
    @Test func sweepOfSeedsUpholdsSafetyAndLiveness() {
        let simulator = Simulator()
        var failures: [String] = []
        for seed: UInt64 in 1...150 {
            let report = simulator.run(seed: seed)
            if !report.passed { failures.append("\(report)") }
        }
        #expect(failures.isEmpty, "replay with `swift run raft-sim --seed S`:\n\(failures.joined(separator: "\n"))")
    }

    @Test func aSeedReplaysExactly() {
        let simulator = Simulator()
        let first = simulator.run(seed: 4242)
        let second = simulator.run(seed: 4242)
        #expect(first.description == second.description)
        #expect(first.proposals > 0)
    }

    @Test func seedsExerciseFaults() {
        let reports = (UInt64(1)...40).map { Simulator().run(seed: $0) }
        #expect(Set(reports.map(\.clusterSize)).count >= 5, "cluster sizes vary")
        #expect(reports.contains { $0.crashes > 0 })
        #expect(reports.contains { $0.partitions > 0 })
        #expect(reports.contains { $0.compactions > 0 })
        #expect(reports.contains { $0.confChanges > 0 })
        #expect(reports.contains { $0.faults.dropPerMille > 0 && $0.faults.duplicatePerMille > 0 })
    }
}

@Suite("Safety checker")
struct SafetyCheckerTests {
    @Test func detectsTwoLeadersInOneTerm() throws {
        var checker = SafetyChecker()
        let cluster = Cluster(size: 3)
        cluster.campaign(1)
        cluster.stabilize()
        guard let leader = cluster.raft(1) else { throw CheckerTestError.noLeader }
        checker.observe(node: 1, raft: leader)
        checker.observe(node: 2, raft: leader)  // pretend node 2 is also leader of that term
        #expect(checker.violations.first?.hasPrefix("Election Safety") == true)
    }

    @Test func detectsDivergentLogs() {
        var checker = SafetyChecker()
        checker.observeAppended(node: 1, entries: [Entry(term: 2, index: 5, data: [1])], previousTerm: 1)
        checker.observeAppended(node: 2, entries: [Entry(term: 2, index: 5, data: [2])], previousTerm: 1)
        #expect(checker.violations.first?.hasPrefix("Log Matching") == true)
    }

    @Test func detectsDifferentAppliedEntries() {
        var checker = SafetyChecker()
        checker.observeApplied(node: 1, entry: Entry(term: 2, index: 5, data: [1]))
        checker.observeApplied(node: 2, entry: Entry(term: 3, index: 5, data: [1]))
        #expect(checker.violations.first?.hasPrefix("State Machine Safety") == true)
    }

    @Test func detectsALeaderMissingACommittedEntry() throws {
        var checker = SafetyChecker()
        let cluster = Cluster(size: 3)
        cluster.campaign(1)
        cluster.stabilize()
        guard let leader = cluster.raft(1) else { throw CheckerTestError.noLeader }
        // An entry "committed" beyond the leader's log.
        checker.observeApplied(node: 3, entry: Entry(term: 2, index: 99))
        checker.observe(node: 1, raft: leader)
        #expect(checker.violations.first?.hasPrefix("Leader Completeness") == true)
    }

    enum CheckerTestError: Error { case noLeader }
}
