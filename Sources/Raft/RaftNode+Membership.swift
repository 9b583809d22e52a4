/// Single-server membership changes (Raft thesis §4.1) and learners (§4.2.1).
extension RaftNode {
    /// Applies a committed conf change to the membership and returns the new `ConfState`.
    ///
    /// The caller calls this while applying the `.confChange` entry, decoding its data with
    /// `ConfChange(decoding:)`. A leader that removed (or demoted) itself hands leadership to
    /// the most up-to-date voter and steps down.
    @discardableResult
    public mutating func applyConfChange(_ change: ConfChange) -> ConfState {
        let isNewPeer = tracker.progress[change.nodeID] == nil
        tracker.apply(change, nextIndex: log.lastIndex + 1)
        guard role == .leader else { return tracker.confState }
        if !tracker.isVoter(id) {
            stepDownAfterRemoval()
            return tracker.confState
        }
        if leadTransferee != .none && !tracker.isVoter(leadTransferee) { abortLeaderTransfer() }
        // The quorum changed: a removal may make pending entries committed.
        if maybeCommit() {
            didAdvanceCommit()
        } else {
            for peer in tracker.sortedIDs where peer != id { sendAppend(to: peer, sendIfEmpty: false) }
        }
        // Probe a newcomer at once rather than at the next heartbeat.
        if isNewPeer && change.type != .removeNode { sendAppend(to: change.nodeID) }
        return tracker.confState
    }

    private mutating func stepDownAfterRemoval() {
        // Tell everyone the latest commit (it includes the removal), then ask the most
        // caught-up voter to campaign at once rather than waiting for an election timeout.
        broadcastAppend()
        let successor = tracker.sortedIDs
            .filter { tracker.isVoter($0) }
            .max { (tracker.progress[$0]?.match ?? 0) < (tracker.progress[$1]?.match ?? 0) }
        if let successor, tracker.progress[successor]?.match == log.lastIndex {
            sendTimeoutNow(to: successor)
        }
        becomeFollower(term: term, lead: .none)
    }
}
