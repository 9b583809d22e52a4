import MVCC
import Raft
import Storage

/// The node loop: proposals and reads go into Raft; each `Ready` is
/// persisted, sent, applied and acknowledged, in that order.
extension EtcdServer {
    /// How long a request may wait for its entry to apply (etcd's
    /// `ReqTimeout`: 5 s plus two election timeouts).
    var requestTimeout: Duration {
        .seconds(5) + .milliseconds(2 * config.electionTimeoutMs)
    }

    /// Starts ticking Raft. A cluster of one elects itself at once (etcd
    /// fast-forwards its election ticks the same way).
    func startRaft() async {
        guard !started else { return }
        started = true
        // Apply the membership entries first: a node campaigns only once it
        // knows it is a voter.
        await processReady()
        if members.count == 1 { raft.campaign() }
        await processReady()
    }

    /// One heartbeat interval passed.
    func tickRaft() {
        raft.tick()
        expireWaiters(now: .now)
        sendLeaderMessagesIfWriting()
        scheduleReady()
    }

    /// While a `Ready` is on its way to disk, a leader sends what it queued
    /// since (heartbeats, appends) at once instead of after the fsync.
    func sendLeaderMessagesIfWriting() {
        guard readyInFlight else { return }
        send(raft.takeLeaderMessages())
    }

    // MARK: Proposals

    /// Proposes a command on behalf of the current request's caller and
    /// waits until this member has applied it.
    func propose(_ command: Command) async throws(EtcdError) -> ApplyResult {
        try await propose(command, as: try await caller())
    }

    /// Proposes a command as `caller` (nil: anonymous), whose permissions
    /// are checked when it is applied.
    func propose(_ command: Command, as caller: AuthHeader?) async throws(EtcdError) -> ApplyResult {
        let requestID = idGenerator.next()
        let data = CommandEnvelope(requestID: requestID, command: command, auth: caller).encodedForLog()
        if data.count > config.maxRequestBytes { throw .requestTooLarge }
        try await checkQuota(command)
        do throws(EtcdError) {
            try await waitForLeader()
            return try await wait(forRequest: requestID, proposing: data)
        } catch {
            recordProposalFailure(error)
            throw error
        }
    }

    /// Queues `data` (if any) for Raft and waits until the entry proposed
    /// under `requestID` applied here (or the request timeout passed).
    /// Proposals queued before the next Ready pass go to Raft together
    /// (`proposeQueued`).
    func wait(forRequest requestID: UInt64, proposing data: [UInt8]? = nil) async throws(EtcdError) -> ApplyResult {
        let deadline = ContinuousClock.now + requestTimeout
        let result = await withCheckedContinuation { (c: CheckedContinuation<ApplyResult, Never>) in
            proposals[requestID] = PendingProposal(continuation: c, deadline: deadline)
            if let data { queuedProposals.append((requestID, data)) }
            scheduleReady()
        }
        if case .failure(let error) = result { throw error }
        return result
    }

    /// Most bytes of commands proposed together: a follower forwards the
    /// batch to the leader as one message, which must stay well under the
    /// peer transport's frame limit.
    static let maxProposalBatchBytes = 4 << 20

    /// Hands the queued proposals to Raft in batches (of at most
    /// `maxProposalBatchBytes`, or one command); if Raft refuses a batch,
    /// each of its proposers gets the error.
    func proposeQueued() {
        guard !queuedProposals.isEmpty else { return }
        let queued = queuedProposals
        queuedProposals = []
        var start = 0
        while start < queued.count {
            var end = start + 1
            var bytes = queued[start].data.count
            while end < queued.count && bytes + queued[end].data.count <= Self.maxProposalBatchBytes {
                bytes += queued[end].data.count
                end += 1
            }
            let batch = queued[start..<end]
            do {
                try raft.propose(batch: batch.map(\.data))
            } catch {
                let failure: EtcdError = error == .noLeader ? .noLeader : .stopped
                for proposal in batch { finish(request: proposal.requestID, with: .failure(failure)) }
            }
            start = end
        }
    }

    /// Answers the proposer of `requestID`, if it waits on this member.
    func finish(request requestID: UInt64, with result: ApplyResult) {
        proposals.removeValue(forKey: requestID)?.continuation.resume(returning: result)
    }

    /// Waits (up to the request timeout) until some member leads.
    func waitForLeader() async throws(EtcdError) {
        let deadline = ContinuousClock.now + requestTimeout
        var waited = 0
        while raft.lead == .none {
            if ContinuousClock.now >= deadline || waited > 10_000 { throw .noLeader }
            waited += 1
            do {
                try await Task.sleep(for: .milliseconds(config.heartbeatIntervalMs))
            } catch {
                throw .stopped
            }
        }
    }

    /// Confirms through Raft that this member's store is at least as new as
    /// any write acknowledged before the call (ReadIndex), so a read served
    /// after it is linearizable. Reads arriving together share one ReadIndex
    /// request (`requestQueuedReads`), made after all of them arrived.
    func linearizableReadBarrier(timeout: Duration? = nil) async throws(EtcdError) {
        try await waitForLeader()
        let deadline = ContinuousClock.now + (timeout ?? requestTimeout)
        do {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                reads.enqueue(PendingReads.Waiter(continuation: c, deadline: deadline))
                scheduleReady()
            }
        } catch {
            throw (error as? EtcdError) ?? .timeout
        }
    }

    /// Makes one ReadIndex request for every read queued since the last one
    /// (etcd's linearizable read loop does the same).
    func requestQueuedReads() {
        guard reads.hasQueued else { return }
        // Copied inside the closure: the buffer is only valid there.
        let context = withUnsafeBytes(of: idGenerator.next().bigEndian) { Array($0) }
        do {
            try raft.readIndex(context: context)
            reads.startRound(context: context)
        } catch {
            for c in reads.takeQueued() { c.resume(throwing: EtcdError.noLeader) }
        }
    }

    // MARK: Ready

    /// Coalesces Ready processing: proposals arriving while one pass runs
    /// (or waits on the disk) share the next pass, and so one fsync.
    func scheduleReady() {
        guard !readyScheduled else { return }
        readyScheduled = true
        Task { await self.runScheduledReady() }
    }

    private func runScheduledReady() async {
        readyScheduled = false
        if readyInFlight {
            // A pass is waiting on the disk and will take up what is queued
            // when it is back; a leader proposes and sends it meanwhile.
            if raft.role == .leader {
                proposeQueued()
                requestQueuedReads()
                sendLeaderMessagesIfWriting()
            }
            return
        }
        await processReady()
    }

    /// Carries out every pending Ready (bounded, so one call cannot spin).
    /// One pass runs at a time; while it waits on the disk the actor serves
    /// other calls, and whatever they queue goes into the next Ready.
    func processReady() async {
        guard !readyInFlight else { return }
        readyInFlight = true
        var passes = 0
        proposeQueued()
        requestQueuedReads()
        while raft.hasReady && passes < 64 {
            passes += 1
            let ready = raft.ready()
            await handle(ready)
            raft.advance(ready)
            proposeQueued()
            requestQueuedReads()
        }
        completeReads()
        maybeTakeSnapshot()
        readyInFlight = false
        // Work queued while the last pass was writing gets its own pass.
        if raft.hasReady { scheduleReady() }
    }

    private func handle(_ ready: Ready) async {
        if let soft = ready.softState { leadershipChanged(to: soft.lead) }
        // A leader sends before its own fsync (Raft thesis 10.2.1): its
        // appends and heartbeats promise nothing about its disk, so followers
        // write in parallel with it. Everyone else sends after, since votes
        // and append acknowledgements promise durable state.
        let sendFirst = raft.role == .leader
        if sendFirst { send(ready.messages) }
        do {
            let installs = ready.snapshot.map { $0.metadata.index > snapshotIndex } ?? false
            var ready = ready
            // A leader's backend image goes into the backend before the
            // snapshot is recorded in the WAL: a crash in between restarts
            // from the new backend, never from a snapshot without its data.
            var installed = false
            if installs, let snapshot = ready.snapshot, let slim = try await installBackendImage(of: snapshot) {
                ready.snapshot = slim
                installed = true
            }
            try await diskWriter.persist(ready, saveSnapshot: installs)
            if installs, let snapshot = ready.snapshot {
                raftStorage.applySnapshot(snapshot)
                if !installed { installSnapshot(snapshot) }
            }
        } catch {
            // A member that cannot persist must not acknowledge anything.
            logger.critical(
                "failed to persist raft state; stopping to protect acknowledged writes",
                metadata: ["error": "\(error)", "hint": "check the data directory's disk and permissions"])
            fatalError("failed to persist raft state: \(error)")
        }
        if !ready.entries.isEmpty { raftStorage.append(ready.entries) }
        if let hard = ready.hardState { raftStorage.setHardState(hard) }
        if !sendFirst { send(ready.messages) }
        for read in ready.readStates { reads.confirm(read.requestContext, index: read.index) }
        for entry in ready.committedEntries { apply(entry) }
    }

    /// Messages for other members (a single member has none to send).
    func send(_ messages: [Message]) {
        guard !messages.isEmpty else { return }
        recordSent(messages)
        guard let backend, messages.contains(where: { $0.type == .snap }) else {
            transport?.send(messages)
            return
        }
        transport?.send(messages.filter { $0.type != .snap })
        for message in messages where message.type == .snap { sendSnapshot(message, from: backend.storage) }
    }

    /// Sends a snapshot with the whole backend attached, read off the actor
    /// in one read transaction while this member goes on (etcd sends its
    /// bolt file after the snapshot message the same way). The backend's
    /// consistent index is at or past the snapshot's index: it was synced
    /// before the snapshot was taken.
    private func sendSnapshot(_ message: Message, from storage: Backend) {
        guard let transport, let snapshot = message.snapshot else { return }
        let logger = logger
        Task.detached {
            do {
                let state = try ServerSnapshot(decoding: snapshot.data)
                let image = try BackendImage.export(storage)
                var full = message
                full.snapshot?.data = state.with(payload: .backendImage(image)).encoded()
                logger.info(
                    "sending a snapshot with the backend",
                    metadata: [
                        "to": "\(hex(message.to))", "snapshot-index": "\(snapshot.metadata.index)",
                        "bytes": "\(image.count)",
                    ])
                transport.send([full])
            } catch {
                logger.warning(
                    "cannot read the backend to send a snapshot; will retry",
                    metadata: ["to": "\(hex(message.to))", "error": "\(error)"])
                await self.snapshotFailed(to: message.to)
            }
        }
    }

    private func snapshotFailed(to peer: NodeID) {
        raft.reportSnapshot(to: peer, failed: true)
        scheduleReady()
    }

    /// Installs the backend image a leader's snapshot carries: written to a
    /// new file on the disk thread, then swapped in, and the store, members,
    /// alarms and auth state taken from it. Returns the snapshot as this
    /// member keeps it (without the image), or nil when the snapshot
    /// carries no image (an in-memory member's, or an older format).
    private func installBackendImage(of snapshot: Snapshot) async throws -> Snapshot? {
        guard let backend else { return nil }
        let state = try ServerSnapshot(decoding: snapshot.data)
        guard case .backendImage(let image) = state.payload else { return nil }
        let start = ContinuousClock.now
        let incoming = backend.incomingPath
        try await diskWriter.run { try MVCCBackend.prepare(image: image, at: incoming) }
        let loaded = try backend.installPrepared()
        stateMachine = StateMachine(store: loaded.store, alarms: loaded.alarms, auth: loaded.auth)
        stateMachine.store.persist(in: backend)
        if !loaded.members.isEmpty { members = loaded.members }
        snapshotIndex = snapshot.metadata.index
        skipAppliedThrough = max(skipAppliedThrough, loaded.consistentIndex)
        watchHub.restore(currentRevision: stateMachine.store.currentRevision)
        wakeWatchStreams()
        if raft.lead == memberID {
            stateMachine.store.promoteLessor(extend: .milliseconds(config.electionTimeoutMs))
        }
        logger.info(
            "installed a snapshot from the leader",
            metadata: [
                "snapshot-index": "\(snapshot.metadata.index)", "consistent-index": "\(loaded.consistentIndex)",
                "current-revision": "\(stateMachine.store.currentRevision)", "keys": "\(stateMachine.store.keyCount)",
                "bytes": "\(image.count)", "took": "\(ContinuousClock.now - start)",
            ])
        var slim = snapshot
        slim.data = state.with(payload: .inBackend).encoded()
        return slim
    }

    private func apply(_ entry: Entry) {
        switch entry.type {
        case .normal:
            guard !entry.data.isEmpty else { return }  // a new leader's empty entry
            // Already in the backend before a restart (etcd's consistent
            // index check): applying again would write new revisions.
            guard entry.index > skipAppliedThrough else { return }
            let envelope: CommandEnvelope
            do {
                envelope = try CommandEnvelope(decoding: entry.data)
            } catch {
                logger.error(
                    "skipping undecodable log entry",
                    metadata: ["index": "\(entry.index)", "term": "\(entry.term)", "error": "\(error)"])
                return
            }
            switch envelope.command {
            case .publish, .memberUpdate:
                finish(request: envelope.requestID, with: applyMemberCommand(envelope.command))
                backend?.clusterStateChanged()
            default:
                let (applied, events) = stateMachine.apply(envelope.command, by: envelope.auth)
                let result = authApplied(envelope.command, result: applied, index: entry.index)
                recordForBackend(envelope.command, result: result)
                publish(events)
                finish(request: envelope.requestID, with: result)
            }
        case .confChange:
            do {
                applyConfChange(try ConfChange(decoding: entry.data))
            } catch {
                logger.error("skipping undecodable membership change", metadata: ["index": "\(entry.index)"])
            }
        }
    }

    /// Tells the backend about changes it cannot read off the store's
    /// history: leases and replicated cluster state.
    private func recordForBackend(_ command: Command, result: ApplyResult) {
        guard let backend else { return }
        switch (command, result) {
        case (.leaseGrant, .leaseGrant(let lease, _)): backend.leaseGranted(id: lease.id, ttl: lease.ttl)
        case (.leaseRevoke(let id), .leaseRevoke): backend.leaseRevoked(id: id)
        case (.alarm, _): backend.clusterStateChanged()
        case (.auth(let change), .auth) where change.changesStore: backend.authStateChanged()
        default: break
        }
    }

    /// Drops a slice of old versions for a compaction under way (10,000
    /// keys per tick, a few milliseconds), between requests.
    func continueCompaction() {
        guard stateMachine.store.isCompacting else { return }
        let more = stateMachine.store.continueCompaction(maxKeys: 10_000)
        if !more {
            logger.info(
                "finished scheduled compaction",
                metadata: ["compact-revision": "\(stateMachine.store.compactedRevision)"])
        }
    }

    /// Returns once no compaction is under way and the backend has been
    /// pruned after it (the periodic loop resumes waiters after its backend
    /// commit, or when it ends).
    func waitForCompactionToFinish() async {
        await withCheckedContinuation { physicalCompactionWaiters.append($0) }
    }

    /// Answers the physical compactions waiting, unless one is still under
    /// way (or `force`: the member is stopping).
    func resumeCompactionWaiters(force: Bool = false) {
        guard !physicalCompactionWaiters.isEmpty, force || !stateMachine.store.isCompacting else { return }
        let waiters = physicalCompactionWaiters
        physicalCompactionWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    /// Commits what was applied since the last commit to the backend (the
    /// background loop calls it every tick, as etcd's batch interval).
    func commitBackend() {
        guard let backend else { return }
        do {
            if backend.needsCommit(store: stateMachine.store, appliedIndex: raft.appliedIndex) {
                try backend.commit(
                    store: stateMachine.store, members: members, alarms: stateMachine.alarms,
                    auth: stateMachine.auth, appliedIndex: raft.appliedIndex)
                // The backend holds them now: reads get them from there.
                stateMachine.store.markPersisted(through: backend.committedRevision)
            }
            // The file is pruned once memory has dropped what it drops.
            if !stateMachine.store.isCompacting { try backend.pruneCompacted(store: stateMachine.store) }
        } catch {
            logger.critical(
                "failed to commit to the backend; stopping to protect acknowledged writes",
                metadata: ["error": "\(error)", "hint": "check the data directory's disk space and permissions"])
            fatalError("failed to commit to the backend: \(error)")
        }
    }

    private func installSnapshot(_ snapshot: Snapshot) {
        do {
            try restore(from: snapshot)
            if let backend {
                try backend.replaceAll(
                    store: stateMachine.store, members: members, alarms: stateMachine.alarms,
                    auth: stateMachine.auth, appliedIndex: snapshot.metadata.index)
                stateMachine.store.markPersisted(through: backend.committedRevision)
            }
            logger.info(
                "installed a snapshot from the leader",
                metadata: [
                    "snapshot-index": "\(snapshot.metadata.index)",
                    "current-revision": "\(stateMachine.store.currentRevision)",
                ])
        } catch {
            logger.critical(
                "cannot restore the store from a snapshot",
                metadata: ["index": "\(snapshot.metadata.index)", "error": "\(error)"])
            fatalError("cannot restore the store from snapshot \(snapshot.metadata.index): \(error)")
        }
    }

    /// Replaces the state machine (store, leases, members) by a snapshot's.
    func restore(from snapshot: Snapshot) throws {
        let state = try RestoredState(snapshot: snapshot, memberID: memberID, config: config)
        stateMachine = state.stateMachine
        if let backend { stateMachine.store.persist(in: backend) }
        members = state.members
        snapshotIndex = state.index
        watchHub.restore(currentRevision: stateMachine.store.currentRevision)
        wakeWatchStreams()
        if raft.lead == memberID {
            stateMachine.store.promoteLessor(extend: .milliseconds(config.electionTimeoutMs))
        }
    }

    /// etcd's snapshot trigger: once `--snapshot-count` entries were applied
    /// since the last snapshot, save the state at the applied index, then
    /// let the log (and the WAL segments) before it go, keeping
    /// `config.snapshotCatchUpEntries` so a briefly lagging follower still gets
    /// entries instead of a whole snapshot.
    func maybeTakeSnapshot() {
        let applied = raft.appliedIndex
        guard config.snapshotCount > 0, applied > snapshotIndex,
            applied - snapshotIndex >= UInt64(config.snapshotCount)
        else { return }
        // The backend must hold everything up to the snapshot before the
        // WAL that covers it goes.
        commitBackend()
        do {
            try backend?.sync()
        } catch {
            logger.critical("failed to sync the backend", metadata: ["error": "\(error)"])
            fatalError("failed to sync the backend: \(error)")
        }
        // With a backend the store is there (synced above): the snapshot
        // stays small, and a follower that needs it gets the backend itself.
        let state = ServerSnapshot(
            members: members, alarms: stateMachine.alarms,
            payload: backend == nil ? .store(stateMachine.store.snapshot()) : .inBackend, auth: stateMachine.auth)
        guard let snapshot = raftStorage.createSnapshot(index: applied, confState: raft.confState, data: state.encoded())
        else { return }
        do {
            try persistence.saveSnapshot(snapshot)
        } catch {
            logger.critical(
                "failed to save a snapshot; stopping to protect acknowledged writes",
                metadata: ["error": "\(error)", "hint": "check the data directory's disk space and permissions"])
            fatalError("failed to save snapshot: \(error)")
        }
        snapshotIndex = applied
        let catchUp = UInt64(max(0, config.snapshotCatchUpEntries))
        if applied > catchUp { raftStorage.compact(through: applied - catchUp) }
        logger.info(
            "saved snapshot",
            metadata: [
                "snapshot-index": "\(applied)", "bytes": "\(snapshot.data.count)",
                "compact-index": "\(applied > catchUp ? applied - catchUp : 0)",
            ])
    }

    private func completeReads() {
        guard !reads.isEmpty else { return }
        for c in reads.takeReady(applied: raft.appliedIndex) { c.resume() }
    }

    private func leadershipChanged(to lead: NodeID) {
        recordLeader(lead)
        logger.info(
            "raft leader changed",
            metadata: ["leader": "\(hex(lead))", "term": "\(raft.term)", "local-member-id": "\(hex(memberID))"])
        if lead == memberID {
            // The new leader's lessor extends every lease by an election
            // timeout, so none expires because of the change itself.
            stateMachine.store.promoteLessor(extend: .milliseconds(config.electionTimeoutMs))
        } else {
            stateMachine.store.demoteLessor()
        }
    }

    private func expireWaiters(now: ContinuousClock.Instant) {
        for (id, waiter) in proposals where waiter.deadline <= now {
            proposals.removeValue(forKey: id)
            waiter.continuation.resume(returning: .failure(.timeout))
        }
        for c in reads.takeExpired(now: now) { c.resume(throwing: EtcdError.timeout) }
    }
}

/// The state a snapshot holds, decoded and ready to become the server's.
struct RestoredState: Sendable {
    var stateMachine: StateMachine
    var members: [Member]
    /// The snapshot index (for the next snapshot's trigger).
    var index: UInt64
    /// The index the state reflects.
    var appliedIndex: UInt64

    init(stateMachine: StateMachine, members: [Member], index: UInt64, appliedIndex: UInt64) {
        self.stateMachine = stateMachine
        self.members = members
        self.index = index
        self.appliedIndex = appliedIndex
    }

    init(snapshot: Snapshot, memberID: UInt64, config: ServerConfig) throws {
        let state = try ServerSnapshot(decoding: snapshot.data)
        guard case .store(let store) = state.payload else { throw SnapshotWithoutStore(index: snapshot.metadata.index) }
        stateMachine = StateMachine(store: try KVStore(snapshot: store), alarms: state.alarms, auth: state.auth)
        members = state.members
        index = snapshot.metadata.index
        appliedIndex = snapshot.metadata.index
    }
}

/// A snapshot whose store is in a backend that does not hold it: the data
/// directory lost its backend or holds an older one.
struct SnapshotWithoutStore: Error, CustomStringConvertible {
    var index: UInt64
    var description: String {
        "snapshot \(index) keeps its data in the backend (member/snap/db), but the backend is missing or older; "
            + "restore the member from a backup (etcdctl snapshot restore) or remove it from the cluster and re-add it "
            + "with an empty data directory"
    }
}
