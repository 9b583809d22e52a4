import Raft

/// A seeded whole-cluster simulation: one seed determines the cluster size (1–7), the network
/// faults, the fault schedule and the client load, so any failure replays exactly.
///
/// Safety phase: the cluster runs under drops, delays, duplicates, reorders, partitions,
/// crash-restarts (some in the middle of a `Ready`), log compaction, membership changes and
/// ReadIndex reads, while `SafetyChecker` checks the five safety properties (and that
/// confirmed reads are linearizable) after every step.
/// Liveness phase: faults stop and a majority is connected; it must elect a leader, commit
/// and apply every proposal ever made (clients retry) on every node of that majority, and
/// then complete a linearizable read.
public struct Simulator: Sendable {
    public var safetyRounds = 300
    public var livenessRounds = 600
    /// Prints every event of the run (for `raft-sim --seed S --trace`).
    public var trace: (@Sendable (String) -> Void)?

    public init() {}

    public func run(seed: UInt64) -> SimulationReport {
        var rng = SplitMix64(seed: seed)
        var report = SimulationReport(seed: seed)
        report.clusterSize = 1 + Int(rng.next(below: 7))
        var faults = NetworkFaults()
        faults.dropPerMille = rng.chance(1, in: 4) ? 0 : rng.next(below: 200)
        faults.duplicatePerMille = rng.chance(1, in: 2) ? 0 : rng.next(below: 100)
        faults.maxDelay = rng.next(below: 4)
        faults.reorder = rng.chance(1, in: 2)
        report.faults = faults
        // Timing varies per seed, but keeps Raft's liveness assumption (broadcast time well
        // below the election timeout): at least 10 ticks, as etcd's default ratio.
        let heartbeatTick = 1 + Int(rng.next(below: 3))
        let electionTick = max(10, heartbeatTick * 5) + Int(rng.next(below: 6))
        report.electionTick = electionTick
        let cluster = Cluster(size: report.clusterSize, seed: rng.next(), electionTick: electionTick,
                              heartbeatTick: heartbeatTick, faults: faults)
        cluster.trace = trace
        cluster.leaderWritesInBackground = rng.chance(1, in: 2)
        report.backgroundWrites = cluster.leaderWritesInBackground
        var workload = Workload()

        for _ in 0..<safetyRounds {
            disturb(cluster, &rng, &report, &workload)
            cluster.tickAll()
            cluster.deliverRound()
            report.rounds += 1
            if let failure = cluster.checker.violations.first {
                report.failure = failure
                return finish(report, cluster)
            }
        }

        if let failure = runLivenessPhase(cluster, &rng, &report, &workload) {
            report.failure = failure
        } else if let failure = cluster.checker.violations.first {
            report.failure = failure
        }
        return finish(report, cluster)
    }

    private func finish(_ report: SimulationReport, _ cluster: Cluster) -> SimulationReport {
        var report = report
        let rafts = cluster.liveIDs.compactMap { cluster.raft($0) }
        report.finalTerm = rafts.map(\.term).max() ?? 0
        report.committedIndex = rafts.map(\.committedIndex).max() ?? 0
        return report
    }

    /// The client side: every proposal ever made, so the liveness phase can insist on all.
    struct Workload {
        var proposals: [[UInt8]] = []
        var next = 0

        mutating func makeProposal() -> [UInt8] {
            next += 1
            let data = Array("p\(next)".utf8)
            proposals.append(data)
            return data
        }
    }

    /// One round's worth of random trouble and load.
    /// At most this many membership changes per run (each waits for the previous one).
    public var maxConfChanges = 4

    private func disturb(_ cluster: Cluster, _ rng: inout SplitMix64, _ report: inout SimulationReport, _ workload: inout Workload) {
        let ids = cluster.ids
        let live = cluster.liveIDs
        if rng.chance(3, in: 100) {
            if rng.chance(1, in: 3) {
                cluster.heal()
            } else if ids.count > 1 {
                var groups: [[NodeID]] = [[], []]
                for id in ids { groups[Int(rng.next(below: 2))].append(id) }
                cluster.partition(groups)
                report.partitions += 1
            }
        }
        if rng.chance(15, in: 1000), let victim = pick(live, &rng) {
            if rng.chance(1, in: 3) {
                cluster.crashBeforePersisting(victim)
            } else {
                cluster.crash(victim)
            }
            report.crashes += 1
        }
        let down = ids.filter { !live.contains($0) }
        if rng.chance(4, in: 100), let revived = pick(down, &rng) {
            cluster.restart(revived)
        }
        if rng.chance(25, in: 100), let proposer = pick(cluster.liveIDs, &rng) {
            let data = workload.makeProposal()
            report.proposals += 1
            try? cluster.propose(proposer, data)
        }
        if rng.chance(10, in: 100), let reader = pick(cluster.liveIDs, &rng) {
            report.reads += 1
            try? cluster.readIndex(reader, context: Array("r\(report.reads)".utf8))
        }
        if rng.chance(2, in: 100), let node = pick(cluster.liveIDs, &rng) {
            cluster.compact(node, keep: rng.next(below: 4))
            report.compactions += 1
        }
        if report.confChanges < maxConfChanges && rng.chance(8, in: 1000) {
            proposeMembershipChange(cluster, &rng, &report)
        }
    }

    /// Adds a learner, promotes a learner, or removes a voter, through the current leader.
    private func proposeMembershipChange(_ cluster: Cluster, _ rng: inout SplitMix64, _ report: inout SimulationReport) {
        guard let leader = cluster.leaders.first, let raft = cluster.raft(leader) else { return }
        let conf = raft.confState
        let change: ConfChange
        if let learner = conf.learners.first {
            change = ConfChange(type: .addNode, nodeID: learner)
        } else if conf.voters.count >= 4 && rng.chance(1, in: 2), let victim = pick(conf.voters, &rng) {
            change = ConfChange(type: .removeNode, nodeID: victim)
        } else if conf.voters.count + conf.learners.count < 7 {
            change = ConfChange(type: .addLearnerNode, nodeID: (cluster.ids.max() ?? 0) + 1)
        } else {
            return
        }
        if (try? cluster.proposeConfChange(leader, change)) != nil { report.confChanges += 1 }
    }

    private func pick(_ ids: [NodeID], _ rng: inout SplitMix64) -> NodeID? {
        guard !ids.isEmpty else { return nil }
        return ids[Int(rng.next(below: UInt64(ids.count)))]
    }

    /// Stops the faults, keeps a minority down, and demands progress. Returns a failure.
    private func runLivenessPhase(_ cluster: Cluster, _ rng: inout SplitMix64, _ report: inout SimulationReport, _ workload: inout Workload) -> String? {
        cluster.heal()
        cluster.network.faults = NetworkFaults(maxDelay: min(report.faults.maxDelay, 1), reorder: report.faults.reorder)
        for id in cluster.ids { cluster.restart(id) }
        // A conf change may still be in flight: a pending removal shrinks the voters by one,
        // so keep away only as many nodes as the smaller configuration tolerates.
        let voters = currentVoters(cluster)
        let smallest = report.confChanges > 0 ? voters.count - 1 : voters.count
        let minority = max(smallest - 1, 0) / 2
        var away: [NodeID] = []
        var candidates = voters
        for _ in 0..<Int(rng.next(below: UInt64(minority + 1))) {
            guard let victim = pick(candidates, &rng) else { break }
            candidates.removeAll { $0 == victim }
            away.append(victim)
        }
        for id in away {
            if rng.chance(1, in: 2) { cluster.crash(id) } else { cluster.isolate(id) }
        }

        var finalReads = 0
        for round in 0..<livenessRounds {
            cluster.tickAll()
            cluster.deliverRound()
            report.rounds += 1
            if let failure = cluster.checker.violations.first { return failure }
            let members = currentVoters(cluster).filter { !away.contains($0) } + currentLearners(cluster)
            guard let leader = cluster.agreedLeader(among: members.filter { cluster.node($0)?.isUp == true }) else { continue }
            let missing = workload.proposals.filter { data in
                !members.allSatisfy { cluster.node($0)?.stateMachine.contains(data) == true }
            }
            if missing.isEmpty {
                // Finally a linearizable read must complete too, through a follower if any.
                let reader = members.filter { $0 != leader && cluster.node($0)?.isUp == true }.first ?? leader
                let done = cluster.node(reader)?.readStates.contains { read in
                    read.requestContext.starts(with: Array("final".utf8))
                        && (cluster.node(reader)?.appliedIndex ?? 0) >= read.index
                } ?? false
                if done { return nil }
                if finalReads == 0 || round % 25 == 0 {
                    finalReads += 1
                    try? cluster.readIndex(reader, context: Array("final\(finalReads)".utf8))
                }
                continue
            }
            // Clients retry proposals whose outcome they have not seen.
            if round % 25 == 0 {
                for data in missing where cluster.node(leader)?.stateMachine.contains(data) != true {
                    try? cluster.propose(leader, data)
                }
            }
        }
        let leader = cluster.agreedLeader().map(String.init) ?? "none"
        let missing = workload.proposals.filter { data in
            !cluster.liveIDs.allSatisfy { cluster.node($0)?.stateMachine.contains(data) == true }
        }
        let states = cluster.ids.map { id -> String in
            guard let node = cluster.node(id), let raft = node.raft else { return "\(id):down" }
            return "\(id):\(raft.role) t\(raft.term) lead \(raft.lead) commit \(raft.committedIndex) applied \(node.appliedIndex) last \(raft.lastIndex) conf \(raft.confState.voters)/\(raft.confState.learners)"
        }
        return "liveness: no progress after \(livenessRounds) rounds (leader \(leader), away \(away), "
            + "\(missing.count) proposals missing somewhere; \(states.joined(separator: "; ")))"
    }

    private func currentVoters(_ cluster: Cluster) -> [NodeID] {
        latestConf(cluster).voters
    }

    private func currentLearners(_ cluster: Cluster) -> [NodeID] {
        latestConf(cluster).learners
    }

    /// The membership as applied by the most advanced node.
    private func latestConf(_ cluster: Cluster) -> ConfState {
        let best = cluster.ids.compactMap { cluster.node($0) }.max { $0.appliedIndex < $1.appliedIndex }
        return best?.confState ?? ConfState()
    }
}
