import Raft

/// What one seeded simulation did and whether it upheld Raft's guarantees.
public struct SimulationReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var clusterSize = 0
    public var faults = NetworkFaults.none
    /// Whether leaders wrote their entries in the background (appends sent before the write).
    public var backgroundWrites = false
    public var electionTick = 0
    public var rounds = 0
    public var proposals = 0
    public var reads = 0
    public var crashes = 0
    public var partitions = 0
    public var compactions = 0
    public var confChanges = 0
    public var finalTerm: UInt64 = 0
    public var committedIndex: UInt64 = 0
    /// Nil if the run passed.
    public var failure: String?

    public var passed: Bool { failure == nil }

    public var description: String {
        let outcome = failure.map { "FAILED: \($0)" } ?? "ok"
        return "seed \(seed): \(outcome) — \(clusterSize) nodes, drop \(faults.dropPerMille)‰, dup \(faults.duplicatePerMille)‰, "
            + "delay ≤\(faults.maxDelay), reorder \(faults.reorder), background writes \(backgroundWrites), election tick \(electionTick), \(rounds) rounds, \(proposals) proposals, \(reads) reads, "
            + "\(crashes) crashes, \(partitions) partitions, \(compactions) compactions, \(confChanges) conf changes, "
            + "term \(finalTerm), commit \(committedIndex)"
    }
}
