import Raft

/// Runtime membership (etcd's MemberAdd/Remove/Update/Promote) and the
/// attributes each member publishes about itself.
///
/// Adding, removing and promoting go through Raft as conf changes whose
/// context carries the member, so every member updates its list when it
/// applies the same entry; updating peer URLs and publishing a name and
/// client URLs are ordinary entries. Checks that etcd makes before
/// proposing (`--strict-reconfig-check`, on by default) are made here.
extension EtcdServer {
    /// etcd allows one learner at a time (`maxLearners`).
    static let maxLearners = 1
    /// A learner may be promoted once its log is this close to the leader's.
    static let learnerReadyFraction = 0.9

    public func addMember(peerURLs: [String], isLearner: Bool) async throws(EtcdError) -> (Member, [Member], ResponseHeader) {
        let urls = try Self.validatedPeerURLs(peerURLs)
        try await authorizeAdmin()
        if members.contains(where: { !Set($0.peerURLs).isDisjoint(with: urls) }) { throw .peerURLExists }
        // Our runtime member IDs derive from the URLs and the cluster token,
        // exactly as bootstrap IDs do, so the new member computes its own ID
        // from `--initial-cluster` (etcd adds the time and tells the new
        // member its ID over the peer API instead).
        let id = ClusterIdentity.memberID(peerURLs: urls, token: config.initialClusterToken)
        if members.contains(where: { $0.id == id }) { throw .memberExists }
        if isLearner {
            if members.filter(\.isLearner).count >= Self.maxLearners { throw .tooManyLearners }
        } else {
            // etcd's IsReadyToAddVotingMember: the started voters must still
            // be a quorum of the larger cluster.
            let voters = members.filter { !$0.isLearner }
            let started = voters.filter { !$0.name.isEmpty }.count
            if started < (voters.count + 1) / 2 + 1 { throw .notEnoughStartedMembers }
        }
        let member = Member(id: id, name: "", peerURLs: urls, clientURLs: [], isLearner: isLearner)
        let result = try await proposeMemberChange(
            ConfChange(type: isLearner ? .addLearnerNode : .addNode, nodeID: id), member: member)
        logger.info(
            "added member", metadata: ["added-peer-id": "\(hex(id))", "added-peer-peer-urls": "\(urls)"])
        return (member, result, header(revision: stateMachine.store.currentRevision))
    }

    public func removeMember(id: UInt64) async throws(EtcdError) -> ([Member], ResponseHeader) {
        try await authorizeAdmin()
        guard let member = members.first(where: { $0.id == id }) else { throw .memberNotFound }
        if !member.isLearner {
            // etcd's mayRemoveMember: the voters left must still form a
            // quorum of started members.
            let remaining = members.filter { !$0.isLearner && $0.id != id }
            let started = remaining.filter { !$0.name.isEmpty }.count
            if !remaining.isEmpty && started < remaining.count / 2 + 1 { throw .notEnoughStartedMembers }
        }
        let result = try await proposeMemberChange(ConfChange(type: .removeNode, nodeID: id), member: member)
        logger.info("removed member", metadata: ["removed-member-id": "\(hex(id))"])
        return (result, header(revision: stateMachine.store.currentRevision))
    }

    public func updateMember(id: UInt64, peerURLs: [String]) async throws(EtcdError) -> ([Member], ResponseHeader) {
        try await authorizeAdmin()
        let urls = try Self.validatedPeerURLs(peerURLs)
        guard members.contains(where: { $0.id == id }) else { throw .memberNotFound }
        if members.contains(where: { $0.id != id && !Set($0.peerURLs).isDisjoint(with: urls) }) {
            throw .peerURLExists
        }
        guard case .members(let result) = try await propose(.memberUpdate(memberID: id, peerURLs: urls)) else {
            throw .stopped
        }
        return (result, header(revision: stateMachine.store.currentRevision))
    }

    public func promoteMember(id: UInt64) async throws(EtcdError) -> ([Member], ResponseHeader) {
        try await authorizeAdmin()
        guard var member = members.first(where: { $0.id == id }) else { throw .memberNotFound }
        guard member.isLearner else { throw .memberNotLearner }
        // Only the leader knows how far the learner got. A follower cannot
        // check (etcd forwards the request to the leader; we propose and
        // let Raft order it), so the check is the leader's.
        if raft.lead == memberID {
            let progress = raft.status.progress
            let leaderMatch = progress[memberID]?.match ?? raft.committedIndex
            let learnerMatch = progress[id]?.match ?? 0
            if Double(learnerMatch) < Double(leaderMatch) * Self.learnerReadyFraction { throw .learnerNotReady }
        }
        member.isLearner = false
        let result = try await proposeMemberChange(ConfChange(type: .addNode, nodeID: id), member: member)
        logger.info("promoted learner", metadata: ["promoted-member-id": "\(hex(id))"])
        return (result, header(revision: stateMachine.store.currentRevision))
    }

    /// Proposes a conf change carrying `member` and waits until it applied.
    private func proposeMemberChange(_ change: ConfChange, member: Member) async throws(EtcdError) -> [Member] {
        let requestID = idGenerator.next()
        var change = change
        change.context = MemberChangeContext(requestID: requestID, member: member).encoded()
        try await waitForLeader()
        do {
            try raft.proposeConfChange(change)
        } catch {
            throw error == .noLeader ? .noLeader : .timeout
        }
        guard case .members(let result) = try await wait(forRequest: requestID) else { throw .stopped }
        return result
    }

    static func validatedPeerURLs(_ peerURLs: [String]) throws(EtcdError) -> [String] {
        guard !peerURLs.isEmpty else { throw .memberBadURLs }
        var urls: [String] = []
        for text in peerURLs {
            guard case .success(let url) = EndpointURL.parse(text) else { throw .memberBadURLs }
            urls.append(url.description)
        }
        return urls.sorted()
    }

    // MARK: Applying

    /// Applies a committed conf change: Raft's membership, then the member
    /// list, then the peer transport.
    func applyConfChange(_ change: ConfChange) {
        raft.applyConfChange(change)
        guard !change.context.isEmpty else { return }  // bootstrap entries carry no member
        let context: MemberChangeContext
        do {
            context = try MemberChangeContext(decoding: change.context)
        } catch {
            logger.error("membership change without a readable member", metadata: ["member-id": "\(hex(change.nodeID))"])
            return
        }
        switch change.type {
        case .addNode, .addLearnerNode:
            if let i = members.firstIndex(where: { $0.id == change.nodeID }) {
                members[i].isLearner = change.type == .addLearnerNode
                members[i].peerURLs = context.member.peerURLs
            } else {
                members.append(context.member)
            }
        case .removeNode:
            members.removeAll { $0.id == change.nodeID }
            if change.nodeID == memberID {
                removedFromCluster = true
                logger.warning(
                    "the member has been permanently removed from the cluster",
                    metadata: ["local-member-id": "\(hex(memberID))", "hint": "remove its data directory before reusing it"])
            }
        }
        membersChanged()
        finish(request: context.requestID, with: .members(members))
    }

    /// Applies a membership command carried as an ordinary entry.
    func applyMemberCommand(_ command: Command) -> ApplyResult {
        switch command {
        case .publish(let id, let name, let clientURLs):
            guard let i = members.firstIndex(where: { $0.id == id }) else { return .failure(.memberNotFound) }
            members[i].name = name
            members[i].clientURLs = clientURLs
        case .memberUpdate(let id, let peerURLs):
            guard let i = members.firstIndex(where: { $0.id == id }) else { return .failure(.memberNotFound) }
            members[i].peerURLs = peerURLs
            membersChanged()
        default:
            return .failure(.stopped)
        }
        return .members(members)
    }

    /// Points the transport at the current members' peer URLs.
    func membersChanged() {
        backend?.clusterStateChanged()
        transport?.setPeers(Self.peerAddresses(of: members, except: memberID))
    }

    // MARK: Publishing attributes

    /// etcd's `publish`: once a leader exists, this member proposes its
    /// name and client URLs until they are in the replicated member list.
    func publishAttributesIfNeeded() {
        guard !publishInFlight, !removedFromCluster, raft.lead != .none,
            let me = members.first(where: { $0.id == memberID })
        else { return }
        let clientURLs = config.advertiseClientURLs.map(\.description)
        guard me.name != config.name || me.clientURLs != clientURLs else { return }
        publishInFlight = true
        Task {
            _ = try? await self.propose(.publish(memberID: self.memberID, name: self.config.name, clientURLs: clientURLs))
            self.publishFinished()
        }
    }

    private func publishFinished() {
        publishInFlight = false
    }
}

/// What a membership conf change carries: the proposer's request ID (so it
/// can be answered) and the member being added, promoted or removed.
struct MemberChangeContext: Sendable {
    var requestID: UInt64
    var member: Member

    func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.write(requestID)
        member.encode(to: &w)
        return w.bytes
    }

    init(requestID: UInt64, member: Member) {
        self.requestID = requestID
        self.member = member
    }

    init(decoding bytes: [UInt8]) throws(BinaryDecodingError) {
        var r = BinaryReader(bytes)
        requestID = try r.readUInt64()
        member = try Member(from: &r)
    }
}
