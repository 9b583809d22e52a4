/// The leader's view of one follower's log (Raft thesis §3.5 nextIndex/matchIndex, extended
/// with etcd's probe/replicate/snapshot flow control).
struct Progress: Sendable {
    /// Highest index known to be replicated on the follower.
    var match: UInt64 = 0
    /// Index of the next entry to send.
    var next: UInt64
    var state: ProgressState = .probe
    /// In `.snapshot`, the index of the snapshot being sent.
    var pendingSnapshot: UInt64 = 0
    /// Whether the follower was heard from since the last CheckQuorum round.
    var recentActive = false
    /// In `.probe`, an append is outstanding and no more are sent until a response or heartbeat.
    var probeSent = false
    var inflights: Inflights
    var isLearner: Bool

    init(next: UInt64, inflights: Inflights, isLearner: Bool) {
        self.next = next
        self.inflights = inflights
        self.isLearner = isLearner
    }

    var isPaused: Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflights.isFull
        case .snapshot: true
        }
    }

    private mutating func reset(to state: ProgressState) {
        probeSent = false
        pendingSnapshot = 0
        self.state = state
        inflights.reset()
    }

    mutating func becomeProbe() {
        if state == .snapshot {
            // Resume after the snapshot even if the follower has not yet acknowledged it.
            let snapshotIndex = pendingSnapshot
            reset(to: .probe)
            next = Swift.max(match + 1, snapshotIndex + 1)
        } else {
            reset(to: .probe)
            next = match + 1
        }
    }

    mutating func becomeReplicate() {
        reset(to: .replicate)
        next = match + 1
    }

    mutating func becomeSnapshot(index: UInt64) {
        reset(to: .snapshot)
        pendingSnapshot = index
    }

    /// Records an acknowledgement up to `index`; returns whether `match` advanced.
    mutating func maybeUpdate(_ index: UInt64) -> Bool {
        var updated = false
        if match < index {
            match = index
            updated = true
            probeSent = false
        }
        next = Swift.max(next, index + 1)
        return updated
    }

    /// Records that entries up to `lastIndex` were sent.
    mutating func sentEntries(lastIndex: UInt64?, bytes: UInt64) {
        switch state {
        case .replicate:
            if let lastIndex {
                next = lastIndex + 1
                inflights.add(lastIndex: lastIndex, bytes: bytes)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            break
        }
    }

    /// Handles a rejected append for `rejected` with the follower's hint `matchHint`. Returns
    /// false if the rejection is stale (an old, reordered response) and was ignored.
    mutating func maybeDecrease(rejected: UInt64, matchHint: UInt64) -> Bool {
        if state == .replicate {
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        guard next - 1 == rejected else { return false }
        next = Swift.max(Swift.min(rejected, matchHint + 1), 1)
        probeSent = false
        return true
    }
}
