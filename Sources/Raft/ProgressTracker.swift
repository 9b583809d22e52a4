/// The current membership plus the leader's per-peer `Progress` and the candidate's votes.
///
/// Only single-server changes are supported (Raft thesis §4.1), so there is always exactly one
/// voter set and a plain majority of it is the quorum.
struct ProgressTracker: Sendable {
    private(set) var voters: Set<NodeID> = []
    private(set) var learners: Set<NodeID> = []
    var progress: [NodeID: Progress] = [:]
    private(set) var votes: [NodeID: Bool] = [:]
    let maxInflight: Int
    let maxInflightBytes: UInt64

    init(maxInflight: Int, maxInflightBytes: UInt64) {
        self.maxInflight = maxInflight
        self.maxInflightBytes = maxInflightBytes
    }

    var confState: ConfState { ConfState(voters: Array(voters), learners: Array(learners)) }

    var quorum: Int { voters.count / 2 + 1 }

    func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }

    /// Every tracked node, in ascending order so that message order is deterministic.
    var sortedIDs: [NodeID] { progress.keys.sorted() }

    /// Replaces the membership (used on start and on snapshot restore). Progress of nodes that
    /// stay is kept; new nodes start probing at `nextIndex`.
    mutating func reset(to conf: ConfState, nextIndex: UInt64) {
        voters = Set(conf.voters)
        learners = Set(conf.learners).subtracting(voters)
        let members = voters.union(learners)
        progress = progress.filter { members.contains($0.key) }
        for id in members {
            if progress[id] == nil {
                progress[id] = newProgress(next: nextIndex, isLearner: learners.contains(id))
            } else {
                progress[id]?.isLearner = learners.contains(id)
            }
        }
    }

    private func newProgress(next: UInt64, isLearner: Bool) -> Progress {
        Progress(next: next, inflights: Inflights(capacity: maxInflight, maxBytes: maxInflightBytes), isLearner: isLearner)
    }

    /// Applies one single-server change.
    mutating func apply(_ change: ConfChange, nextIndex: UInt64) {
        let id = change.nodeID
        guard id != .none else { return }
        switch change.type {
        case .addNode:
            learners.remove(id)
            voters.insert(id)
        case .addLearnerNode:
            voters.remove(id)
            learners.insert(id)
        case .removeNode:
            voters.remove(id)
            learners.remove(id)
            progress[id] = nil
            votes[id] = nil
            return
        }
        if progress[id] == nil {
            var p = newProgress(next: nextIndex, isLearner: learners.contains(id))
            // A brand-new peer counts as active so CheckQuorum does not depose the leader before
            // the newcomer had a chance to answer.
            p.recentActive = true
            progress[id] = p
        } else {
            progress[id]?.isLearner = learners.contains(id)
        }
    }

    /// The highest index stored on a quorum of voters.
    var committedIndex: UInt64 {
        guard !voters.isEmpty else { return UInt64.max }
        let matches = voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        return matches[quorum - 1]
    }

    mutating func resetVotes() { votes = [:] }

    mutating func recordVote(from id: NodeID, granted: Bool) {
        if votes[id] == nil { votes[id] = granted }
    }

    var voteResult: VoteResult {
        var granted = 0, rejected = 0
        for id in voters {
            switch votes[id] {
            case true?: granted += 1
            case false?: rejected += 1
            case nil: break
            }
        }
        if granted >= quorum { return .won }
        if rejected > voters.count - quorum { return .lost }
        return .pending
    }

    /// Whether a quorum of voters (counting `leader` itself) was recently active.
    func isQuorumActive(leader: NodeID) -> Bool {
        let active = voters.filter { $0 == leader || progress[$0]?.recentActive == true }.count
        return active >= quorum
    }
}
