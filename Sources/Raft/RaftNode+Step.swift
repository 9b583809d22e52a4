/// Message dispatch: term rules common to all roles, then the role-specific handlers.
extension RaftNode {
    mutating func handle(_ m: Message) throws(RaftError) {
        if m.term > term {
            if m.type == .vote || m.type == .preVote {
                // Leader lease (with CheckQuorum): while we heard from a leader within the
                // election timeout, ignore disruptive vote requests, unless the leader itself
                // asked for the election by transferring leadership.
                let forced = m.context == Message.campaignTransferContext
                let inLease = config.checkQuorum && lead != .none && electionElapsed < config.electionTick
                if !forced && inLease { return }
            }
            switch m.type {
            case .preVote:
                break  // Never adopt a pre-vote's term: it is hypothetical.
            case .preVoteResp where !m.reject:
                break  // The term is adopted when the real election starts.
            case .app, .heartbeat, .snap:
                becomeFollower(term: m.term, lead: m.from)
            default:
                becomeFollower(term: m.term, lead: .none)
            }
        } else if m.term != 0 && m.term < term {
            if (config.checkQuorum || config.preVote) && (m.type == .heartbeat || m.type == .app) {
                // A stale leader (e.g. just back from a partition) learns our higher term from
                // this response and steps down; with PreVote it could otherwise never notice,
                // because our pre-votes do not raise its term.
                send(Message(type: .appResp, to: m.from))
            } else if m.type == .preVote {
                send(Message(type: .preVoteResp, to: m.from, term: term, reject: true))
            }
            return
        }

        switch m.type {
        case .hup:
            hup(transfer: false)
        case .vote, .preVote:
            handleVoteRequest(m)
        default:
            switch role {
            case .leader: try stepLeader(m)
            case .candidate, .preCandidate: try stepCandidate(m)
            case .follower: try stepFollower(m)
            }
        }
    }

    mutating func stepFollower(_ m: Message) throws(RaftError) {
        switch m.type {
        case .prop, .readIndex:
            guard lead != .none else { throw .noLeader }
            var forwarded = m
            forwarded.to = lead
            send(forwarded)
        case .transferLeader:
            guard lead != .none else { return }
            var forwarded = m
            forwarded.to = lead
            send(forwarded)
        case .app:
            electionElapsed = 0
            lead = m.from
            handleAppendEntries(m)
        case .heartbeat:
            electionElapsed = 0
            lead = m.from
            handleHeartbeat(m)
        case .snap:
            electionElapsed = 0
            lead = m.from
            handleSnapshot(m)
        case .timeoutNow:
            if hasUnappliedConfChanges() {
                campaignAfterApplying = true  // hup re-checks that we may campaign
            } else {
                hup(transfer: true)
            }
        case .readIndexResp:
            readStates.append(ReadState(index: m.index, requestContext: m.context))
        default:
            break
        }
    }

    mutating func stepCandidate(_ m: Message) throws(RaftError) {
        switch m.type {
        case .prop, .readIndex:
            throw .noLeader
        case .app:
            becomeFollower(term: m.term, lead: m.from)
            handleAppendEntries(m)
        case .heartbeat:
            becomeFollower(term: m.term, lead: m.from)
            handleHeartbeat(m)
        case .snap:
            becomeFollower(term: m.term, lead: m.from)
            handleSnapshot(m)
        case .preVoteResp where role == .preCandidate, .voteResp where role == .candidate:
            receiveVote(m)
        default:
            break
        }
    }

    mutating func stepLeader(_ m: Message) throws(RaftError) {
        switch m.type {
        case .beat:
            broadcastHeartbeat()
            return
        case .prop:
            try handleProposal(m)
            return
        case .readIndex:
            handleReadIndex(m)
            return
        default:
            break
        }
        // Everything else is about one peer's progress.
        guard tracker.progress[m.from] != nil else { return }
        switch m.type {
        case .appResp:
            handleAppendResponse(m)
        case .heartbeatResp:
            handleHeartbeatResponse(m)
        case .snapStatus:
            handleSnapshotStatus(m)
        case .unreachable:
            // Optimistic pipelining is pointless to an unreachable peer; probe instead.
            if tracker.progress[m.from]?.state == .replicate { tracker.progress[m.from]?.becomeProbe() }
        case .transferLeader:
            handleTransferLeader(transferee: m.from)
        default:
            break
        }
    }

    mutating func handleProposal(_ m: Message) throws(RaftError) {
        guard !m.entries.isEmpty else { return }
        // A leader removed from the membership keeps running until it steps down, but must
        // not accept more work; nor may it while handing leadership over.
        guard tracker.progress[id] != nil, leadTransferee == .none else { throw .proposalDropped }
        var entries = m.entries
        let hasConfChange = entries.contains { $0.type == .confChange }
        if hasConfChange && pendingConfIndex > log.applied { throw .confChangePending }
        for i in entries.indices { entries[i].term = 0 }
        guard increaseUncommittedSize(by: entries) else { throw .proposalDropped }
        if let offset = entries.lastIndex(where: { $0.type == .confChange }) {
            pendingConfIndex = log.lastIndex + UInt64(offset) + 1
        }
        appendEntries(entries)
        broadcastAppend()
    }

    /// Admits `entries` against `maxUncommittedEntriesSize`. Always admits when nothing is
    /// pending, so a single large proposal can still make progress.
    mutating func increaseUncommittedSize(by entries: [Entry]) -> Bool {
        let size = entries.reduce(UInt64(0)) { $0 + UInt64($1.data.count) }
        let limit = config.maxUncommittedEntriesSize
        if limit > 0 && uncommittedSize > 0 && size > 0 && uncommittedSize + size > limit { return false }
        uncommittedSize += size
        return true
    }

    mutating func reduceUncommittedSize(by entries: [Entry]) {
        let size = entries.reduce(UInt64(0)) { $0 + UInt64($1.data.count) }
        uncommittedSize = size >= uncommittedSize ? 0 : uncommittedSize - size
    }
}
