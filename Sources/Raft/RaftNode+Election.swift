/// Timers, role transitions and elections (Raft thesis §3.4, §9.6 PreVote, §6.2 CheckQuorum).
extension RaftNode {
    enum CampaignKind {
        /// PreVote round: ask whether we could win, without bumping the term.
        case preElection
        case election
        /// Election caused by `timeoutNow`; voters ignore their leader lease for it.
        case transfer
    }

    mutating func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            try? handle(Message(type: .hup, from: id))
        }
    }

    mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTick {
            electionElapsed = 0
            if config.checkQuorum { checkQuorum() }
            // A transfer that did not finish within an election timeout is abandoned, so the
            // leader accepts proposals again.
            if role == .leader && leadTransferee != .none { abortLeaderTransfer() }
        }
        guard role == .leader else { return }
        if heartbeatElapsed >= config.heartbeatTick {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
    }

    /// CheckQuorum: a leader that has not heard from a quorum during the last election timeout
    /// steps down, so a partitioned leader stops accepting work it can never commit.
    mutating func checkQuorum() {
        if !tracker.isQuorumActive(leader: id) {
            becomeFollower(term: term, lead: .none)
        }
        for peer in tracker.sortedIDs where peer != id {
            tracker.progress[peer]?.recentActive = false
        }
    }

    mutating func hup(transfer: Bool) {
        guard role != .leader, isPromotable, !hasUnappliedConfChanges() else { return }
        if transfer {
            campaign(.transfer)
        } else {
            campaign(config.preVote ? .preElection : .election)
        }
    }

    /// Whether committed conf changes are waiting to be applied: campaigning before applying
    /// them could use a stale membership.
    func hasUnappliedConfChanges() -> Bool {
        guard log.committed > log.applied else { return false }
        let pending = (try? log.slice(from: log.applied + 1, to: log.committed + 1, maxBytes: .max)) ?? []
        return pending.contains { $0.type == .confChange }
    }

    mutating func campaign(_ kind: CampaignKind) {
        let voteType: MessageType
        let voteTerm: UInt64
        if kind == .preElection {
            becomePreCandidate()
            voteType = .preVote
            voteTerm = term + 1
        } else {
            becomeCandidate()
            voteType = .vote
            voteTerm = term
        }
        tracker.recordVote(from: id, granted: true)
        if tracker.voteResult == .won {
            // A single-voter cluster wins its own election immediately.
            if kind == .preElection {
                campaign(.election)
            } else {
                becomeLeader()
            }
            return
        }
        let context = kind == .transfer ? Message.campaignTransferContext : []
        for peer in tracker.sortedIDs where peer != id && tracker.isVoter(peer) {
            send(Message(
                type: voteType, to: peer, term: voteTerm, logTerm: log.lastTerm, index: log.lastIndex,
                context: context))
        }
    }

    /// Counts a (pre-)vote response and acts on the outcome.
    mutating func receiveVote(_ m: Message) {
        tracker.recordVote(from: m.from, granted: !m.reject)
        switch tracker.voteResult {
        case .won:
            if role == .preCandidate {
                campaign(.election)
            } else {
                becomeLeader()
                broadcastAppend()
            }
        case .lost:
            becomeFollower(term: term, lead: .none)
        case .pending:
            break
        }
    }

    /// Handles a (pre-)vote request whose term is not stale.
    mutating func handleVoteRequest(_ m: Message) {
        let responseType: MessageType = m.type == .vote ? .voteResp : .preVoteResp
        // We may vote again for the same candidate (a retransmission), for anyone if we have
        // neither voted nor know a leader, or pre-vote for any future term.
        let canVote = vote == m.from || (vote == .none && lead == .none)
            || (m.type == .preVote && m.term > term)
        if canVote && log.isUpToDate(lastIndex: m.index, term: m.logTerm) {
            // Answer with the request's term so the candidate counts it, even for a pre-vote
            // whose term we have not adopted.
            send(Message(type: responseType, to: m.from, term: m.term))
            if m.type == .vote {
                electionElapsed = 0
                vote = m.from
            }
        } else {
            send(Message(type: responseType, to: m.from, term: term, reject: true))
        }
    }

    mutating func becomeFollower(term newTerm: UInt64, lead newLead: NodeID) {
        reset(term: newTerm)
        lead = newLead
        role = .follower
    }

    mutating func becomePreCandidate() {
        precondition(role != .leader, "leader cannot become pre-candidate")
        // Term and vote stay untouched: that is the point of PreVote.
        tracker.resetVotes()
        lead = .none
        role = .preCandidate
    }

    mutating func becomeCandidate() {
        precondition(role != .leader, "leader cannot become candidate")
        reset(term: term + 1)
        vote = id
        role = .candidate
    }

    mutating func becomeLeader() {
        precondition(role != .follower, "follower cannot become leader without an election")
        reset(term: term)
        lead = id
        role = .leader
        tracker.progress[id]?.becomeReplicate()
        // Conservatively treat the whole uncommitted tail as possibly holding a conf change.
        pendingConfIndex = log.lastIndex
        // The no-op entry lets the leader commit entries of earlier terms (§5.4.2) and learn
        // the current commit index for ReadIndex (§6.4).
        appendEntries([Entry(term: 0, index: 0)])
    }

    /// Resets volatile state for a new term or role.
    mutating func reset(term newTerm: UInt64) {
        if term != newTerm {
            term = newTerm
            vote = .none
        }
        lead = .none
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTick
            + Int(rng.next(below: UInt64(config.electionTick)))
        abortLeaderTransfer()
        campaignAfterApplying = false
        tracker.resetVotes()
        let next = log.lastIndex + 1
        let persisted = log.persistedLastIndex
        for peer in tracker.sortedIDs {
            let isLearner = tracker.progress[peer]?.isLearner ?? false
            var p = Progress(
                next: next,
                inflights: Inflights(capacity: config.maxInflightMsgs, maxBytes: config.maxInflightBytes),
                isLearner: isLearner)
            if peer == id { p.match = persisted }
            tracker.progress[peer] = p
        }
        pendingConfIndex = 0
        uncommittedSize = 0
        readOnly = ReadOnlyQueue()
        pendingReadIndexMessages = []
    }

    mutating func abortLeaderTransfer() {
        leadTransferee = .none
    }
}
