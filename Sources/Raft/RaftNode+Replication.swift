/// Log replication: the leader's side (sending appends, counting acknowledgements, commit)
/// and the follower's side (the consistency check, snapshots).
extension RaftNode {
    // MARK: Leader

    /// Appends new entries, stamped with the current term, to the leader's own log.
    mutating func appendEntries(_ newEntries: [Entry]) {
        var entries = newEntries
        let last = log.lastIndex
        for i in entries.indices {
            entries[i].term = term
            entries[i].index = last + 1 + UInt64(i)
        }
        log.append(entries)
    }

    mutating func broadcastAppend() {
        for peer in tracker.sortedIDs where peer != id {
            sendAppend(to: peer)
        }
    }

    /// Sends the entries `peer` is missing (or a snapshot if they were compacted), subject to
    /// flow control. Returns whether a message was sent.
    @discardableResult
    mutating func sendAppend(to peer: NodeID, sendIfEmpty: Bool = true) -> Bool {
        guard var progress = tracker.progress[peer], !progress.isPaused else { return false }
        let prevIndex = progress.next - 1
        let prevTerm: UInt64
        let entries: [Entry]
        do {
            prevTerm = try log.term(at: prevIndex)
            entries = try log.entries(from: progress.next, maxBytes: config.maxSizePerMsg)
        } catch {
            return sendSnapshot(to: peer, progress: &progress)
        }
        if entries.isEmpty && !sendIfEmpty { return false }
        send(Message(
            type: .app, to: peer, logTerm: prevTerm, index: prevIndex, entries: entries,
            commit: log.committed))
        progress.sentEntries(lastIndex: entries.last?.index, bytes: entries.byteSize)
        tracker.progress[peer] = progress
        return true
    }

    /// The entries `peer` needs are compacted: send the latest snapshot instead, and pause
    /// appends until it reports back.
    private mutating func sendSnapshot(to peer: NodeID, progress: inout Progress) -> Bool {
        // Only to peers known alive: a snapshot is expensive to send into the void.
        guard progress.recentActive else { return false }
        guard let snapshot = try? log.snapshot(), !snapshot.isEmpty else { return false }
        progress.becomeSnapshot(index: snapshot.metadata.index)
        tracker.progress[peer] = progress
        send(Message(type: .snap, to: peer, snapshot: snapshot))
        return true
    }

    mutating func broadcastHeartbeat(context: [UInt8] = []) {
        let context = context.isEmpty ? (readOnly.lastContext ?? []) : context
        for peer in tracker.sortedIDs where peer != id {
            // Never tell a follower to commit past what it is known to hold.
            let commit = Swift.min(tracker.progress[peer]?.match ?? 0, log.committed)
            send(Message(type: .heartbeat, to: peer, commit: commit, context: context))
        }
    }

    /// Advances commit to the highest index replicated on a quorum, if it is of this term.
    mutating func maybeCommit() -> Bool {
        log.maybeCommit(index: tracker.committedIndex, term: term)
    }

    /// Follow-up after the commit index advanced on the leader.
    mutating func didAdvanceCommit() {
        releasePendingReadIndexMessages()
        broadcastAppend()
    }

    mutating func handleAppendResponse(_ m: Message) {
        guard var progress = tracker.progress[m.from] else { return }
        progress.recentActive = true
        if m.reject {
            // Fast backtracking: the follower hinted at (index, term) where its log may match;
            // skip our entries of terms newer than its hint term, all at once.
            var nextProbe = m.rejectHint
            if m.logTerm > 0 {
                nextProbe = log.findConflictByTerm(index: m.rejectHint, term: m.logTerm)
            }
            nextProbe = Swift.min(nextProbe, log.lastIndex)
            if progress.maybeDecrease(rejected: m.index, matchHint: nextProbe) {
                if progress.state == .replicate { progress.becomeProbe() }
                tracker.progress[m.from] = progress
                sendAppend(to: m.from)
            } else {
                tracker.progress[m.from] = progress
            }
            return
        }
        let wasPaused = progress.isPaused
        guard progress.maybeUpdate(m.index) else {
            tracker.progress[m.from] = progress
            return
        }
        switch progress.state {
        case .probe:
            progress.becomeReplicate()
        case .snapshot where progress.match >= progress.pendingSnapshot:
            progress.becomeProbe()
            progress.becomeReplicate()
        case .snapshot:
            break
        case .replicate:
            progress.inflights.freeLE(m.index)
        }
        tracker.progress[m.from] = progress
        if maybeCommit() {
            didAdvanceCommit()
        } else if wasPaused {
            sendAppend(to: m.from)
        }
        // Fill the pipeline; bounded by the in-flight window.
        var budget = config.maxInflightMsgs + 1
        while budget > 0 && sendAppend(to: m.from, sendIfEmpty: false) { budget -= 1 }
        if m.from == leadTransferee && tracker.progress[m.from]?.match == log.lastIndex {
            sendTimeoutNow(to: m.from)
        }
    }

    mutating func handleHeartbeatResponse(_ m: Message) {
        guard var progress = tracker.progress[m.from] else { return }
        progress.recentActive = true
        progress.probeSent = false
        // Proof of life: free one in-flight slot so a stalled pipeline can move.
        if progress.state == .replicate && progress.inflights.isFull { progress.inflights.freeFirst() }
        tracker.progress[m.from] = progress
        if progress.match < log.lastIndex { sendAppend(to: m.from) }
        if !m.context.isEmpty { confirmReads(ackFrom: m.from, context: m.context) }
    }

    mutating func handleSnapshotStatus(_ m: Message) {
        guard var progress = tracker.progress[m.from], progress.state == .snapshot else { return }
        if m.reject { progress.pendingSnapshot = 0 }
        progress.becomeProbe()
        // Wait for the follower's answer (or a heartbeat) before probing again.
        progress.probeSent = true
        tracker.progress[m.from] = progress
    }

    // MARK: Follower

    /// The AppendEntries consistency check (§5.3), answering with a rejection hint on failure.
    mutating func handleAppendEntries(_ m: Message) {
        if m.index < log.committed {
            // Stale or duplicated: everything up to commit is known to match.
            send(Message(type: .appResp, to: m.from, index: log.committed))
            return
        }
        if let lastNew = log.maybeAppend(index: m.index, logTerm: m.logTerm, commit: m.commit, entries: m.entries) {
            send(Message(type: .appResp, to: m.from, index: lastNew))
            return
        }
        // Hint the largest index whose term is ≤ the leader's term at m.index: every entry
        // after it certainly conflicts, so the leader can skip them in one round trip.
        let hintIndex = log.findConflictByTerm(index: Swift.min(m.index, log.lastIndex), term: m.logTerm)
        send(Message(
            type: .appResp, to: m.from, logTerm: log.termOrZero(at: hintIndex), index: m.index,
            reject: true, rejectHint: hintIndex))
    }

    mutating func handleHeartbeat(_ m: Message) {
        log.commit(to: Swift.min(m.commit, log.lastIndex))
        send(Message(type: .heartbeatResp, to: m.from, context: m.context))
    }

    mutating func handleSnapshot(_ m: Message) {
        guard let snapshot = m.snapshot else { return }
        if restore(snapshot) {
            send(Message(type: .appResp, to: m.from, index: log.lastIndex))
        } else {
            send(Message(type: .appResp, to: m.from, index: log.committed))
        }
    }

    /// Installs `snapshot` unless the log already covers it. Returns whether it was installed.
    mutating func restore(_ snapshot: Snapshot) -> Bool {
        let meta = snapshot.metadata
        guard meta.index > log.committed else { return false }
        guard role == .follower else {
            // Only a follower of the current leader may receive a snapshot; be defensive.
            becomeFollower(term: term + 1, lead: .none)
            return false
        }
        let members = Set(meta.confState.voters).union(meta.confState.learners)
        guard members.contains(id) else { return false }
        if log.matchTerm(index: meta.index, term: meta.term) {
            // We already have the snapshot's last entry: just fast-forward commit.
            log.commit(to: meta.index)
            return false
        }
        log.restore(snapshot)
        tracker.reset(to: meta.confState, nextIndex: log.lastIndex + 1)
        return true
    }

    // MARK: Leadership transfer (thesis §3.10)

    mutating func handleTransferLeader(transferee: NodeID) {
        guard let progress = tracker.progress[transferee], !progress.isLearner else { return }
        if leadTransferee != .none {
            if leadTransferee == transferee { return }
            abortLeaderTransfer()
        }
        guard transferee != id else { return }
        // The transfer must finish within an election timeout (see tickLeader).
        electionElapsed = 0
        leadTransferee = transferee
        if progress.match == log.lastIndex {
            sendTimeoutNow(to: transferee)
        } else {
            sendAppend(to: transferee)
        }
    }

    mutating func sendTimeoutNow(to peer: NodeID) {
        send(Message(type: .timeoutNow, to: peer))
    }
}
