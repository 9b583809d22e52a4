/// Linearizable reads without writing to the log (Raft thesis §6.4, etcd's ReadOnlySafe).
extension RaftNode {
    /// Whether the leader has committed an entry of its own term. Until it has, its commit
    /// index may lag the true one, so it cannot yet answer reads.
    var committedEntryInCurrentTerm: Bool { log.termOrZero(at: log.committed) == term }

    mutating func handleReadIndex(_ m: Message) {
        if tracker.voters.count <= 1 && tracker.isVoter(id) {
            // A single voter is its own quorum.
            respond(to: PendingRead(index: log.committed, context: m.context, requester: m.from, acks: [id]))
            return
        }
        guard committedEntryInCurrentTerm else {
            pendingReadIndexMessages.append(m)
            return
        }
        readOnly.add(index: log.committed, context: m.context, requester: m.from, leader: id)
        broadcastHeartbeat(context: m.context)
    }

    /// A heartbeat response echoed a read context; once a quorum did, the leader was still
    /// leader when the read arrived and it (and all earlier reads) can be served.
    mutating func confirmReads(ackFrom peer: NodeID, context: [UInt8]) {
        guard let acks = readOnly.recordAck(from: peer, context: context) else { return }
        guard acks.filter({ tracker.isVoter($0) }).count >= tracker.quorum else { return }
        for read in readOnly.release(through: context) { respond(to: read) }
    }

    mutating func respond(to read: PendingRead) {
        if read.requester == id || read.requester == .none {
            readStates.append(ReadState(index: read.index, requestContext: read.context))
        } else {
            send(Message(type: .readIndexResp, to: read.requester, index: read.index, context: read.context))
        }
    }

    mutating func releasePendingReadIndexMessages() {
        guard !pendingReadIndexMessages.isEmpty, committedEntryInCurrentTerm else { return }
        let waiting = pendingReadIndexMessages
        pendingReadIndexMessages = []
        for m in waiting { handleReadIndex(m) }
    }
}
