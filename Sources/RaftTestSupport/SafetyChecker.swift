import Raft

/// Checks the five safety properties of Raft (Figure 3 of the paper) as a cluster runs.
///
/// It is fed every observable event: each `Ready` a node produces (its entries are exactly
/// what goes into the log) and each entry applied, plus periodic looks at every node. Each
/// violation is recorded as a human-readable line; a correct implementation records none.
public struct SafetyChecker: Sendable {
    private struct LoggedEntry: Sendable, Hashable {
        var previousTerm: UInt64?
        var type: EntryType
        var data: [UInt8]
    }

    private struct EntryKey: Hashable, Sendable {
        var index: UInt64
        var term: UInt64
    }

    private struct LeaderMark: Sendable {
        var term: UInt64
        var lastIndex: UInt64
        var lastTerm: UInt64
    }

    public private(set) var violations: [String] = []
    /// Term → the one leader it had (Election Safety).
    private var leaders: [UInt64: NodeID] = [:]
    /// Every (index, term) ever written to a log → what it held (Log Matching).
    private var logged: [EntryKey: LoggedEntry] = [:]
    /// Index → entry applied there by any node (State Machine Safety).
    private var appliedAt: [UInt64: Entry] = [:]
    /// The highest entry known committed, for Leader Completeness.
    private var highestCommitted: Entry?
    /// Per node: where its log ended when last seen as leader (Leader Append-Only).
    private var leaderMarks: [NodeID: LeaderMark] = [:]
    /// Per running node: its commit index when last seen.
    private var commits: [NodeID: UInt64] = [:]

    /// Read context → the highest index applied anywhere when the read was requested.
    private var readFloors: [[UInt8]: UInt64] = [:]
    private var highestApplied: UInt64 = 0

    public init() {}

    public var isSafe: Bool { violations.isEmpty }

    private mutating func fail(_ message: String) {
        if violations.count < 20 { violations.append(message) }
    }

    /// Log Matching: two logs that hold an entry with the same index and term hold the same
    /// entry and agree on the preceding term, so (inductively) are identical up to there.
    public mutating func observeAppended(node: NodeID, entries: [Entry], previousTerm: UInt64?) {
        var previous = previousTerm
        for entry in entries {
            let key = EntryKey(index: entry.index, term: entry.term)
            let logged = LoggedEntry(previousTerm: previous, type: entry.type, data: entry.data)
            if let known = self.logged[key] {
                let samePrev = known.previousTerm == nil || logged.previousTerm == nil
                    || known.previousTerm == logged.previousTerm
                if known.data != logged.data || known.type != logged.type || !samePrev {
                    fail("Log Matching: node \(node) holds a different entry at index \(entry.index) term \(entry.term)")
                }
                if known.previousTerm == nil && logged.previousTerm != nil { self.logged[key] = logged }
            } else {
                self.logged[key] = logged
            }
            previous = entry.term
        }
    }

    /// State Machine Safety: no two nodes apply different entries at one index. Also feeds
    /// Leader Completeness, since an applied entry is committed.
    public mutating func observeApplied(node: NodeID, entry: Entry) {
        if let known = appliedAt[entry.index] {
            if known != entry {
                fail("State Machine Safety: node \(node) applied term \(entry.term) at index \(entry.index), another node applied term \(known.term)")
            }
        } else {
            appliedAt[entry.index] = entry
            if entry.index > (highestCommitted?.index ?? 0) { highestCommitted = entry }
            highestApplied = max(highestApplied, entry.index)
        }
    }

    /// Election Safety, Leader Append-Only and Leader Completeness, checked on a live node;
    /// also that its commit index never moves backwards while it runs.
    public mutating func observe(node: NodeID, raft: RaftNode) {
        if let previous = commits[node], raft.committedIndex < previous {
            fail("Commit regression: node \(node) commit went from \(previous) to \(raft.committedIndex)")
        }
        commits[node] = raft.committedIndex
        guard raft.role == .leader else {
            leaderMarks[node] = nil
            return
        }
        let term = raft.term
        if let existing = leaders[term], existing != node {
            fail("Election Safety: nodes \(existing) and \(node) both leaders in term \(term)")
        }
        leaders[term] = node

        if let mark = leaderMarks[node], mark.term == term {
            let stillThere = mark.lastIndex < raft.firstIndex || raft.entryTerm(at: mark.lastIndex) == mark.lastTerm
            if raft.lastIndex < mark.lastIndex || !stillThere {
                fail("Leader Append-Only: leader \(node) of term \(term) lost or changed its entry at \(mark.lastIndex)")
            }
        }
        leaderMarks[node] = LeaderMark(
            term: term, lastIndex: raft.lastIndex, lastTerm: raft.entryTerm(at: raft.lastIndex) ?? 0)

        if let committed = highestCommitted, committed.term <= term {
            let compacted = committed.index < raft.firstIndex
            if !compacted && raft.entryTerm(at: committed.index) != committed.term {
                fail("Leader Completeness: leader \(node) of term \(term) lacks committed entry \(committed.index) (term \(committed.term))")
            }
        }
    }

    /// A linearizable read was requested: it must observe everything already applied
    /// somewhere (and so acknowledged to some client) at this moment.
    public mutating func observeReadRequested(context: [UInt8]) {
        readFloors[context] = highestApplied
    }

    /// Linearizability of ReadIndex: a confirmed read index may not be behind a write that was
    /// acknowledged before the read was requested (a deposed leader must not serve reads).
    public mutating func observeReadConfirmed(node: NodeID, read: ReadState) {
        guard let floor = readFloors[read.requestContext] else { return }
        if read.index < floor {
            fail("Linearizable read: node \(node) confirmed a read at index \(read.index), but index \(floor) was already applied when it was requested")
        }
    }

    /// Forgets what was observed of a crashed node's process (its next leadership is a new
    /// term anyway, and its commit index restarts from disk).
    public mutating func observeCrash(node: NodeID) {
        leaderMarks[node] = nil
        commits[node] = nil
    }

    /// The entry applied at `index`, if any node applied one.
    public func appliedEntry(at index: UInt64) -> Entry? { appliedAt[index] }
}
