import MVCC
import Raft

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
    func startRaft() {
        guard !started else { return }
        started = true
        // Apply the membership entries first: a node campaigns only once it
        // knows it is a voter.
        processReady()
        if members.count == 1 { raft.campaign() }
        processReady()
    }

    /// One heartbeat interval passed.
    func tickRaft() {
        raft.tick()
        expireWaiters(now: .now)
        processReady()
    }

    // MARK: Proposals

    /// Proposes a command and waits until this member has applied it.
    func propose(_ command: Command) async throws(EtcdError) -> ApplyResult {
        let requestID = idGenerator.next()
        let data = CommandEnvelope(requestID: requestID, command: command).encoded()
        if data.count > config.maxRequestBytes { throw .requestTooLarge }
        try await waitForLeader()
        do {
            try raft.propose(data)
        } catch {
            throw error == .noLeader ? .noLeader : .stopped
        }
        let deadline = ContinuousClock.now + requestTimeout
        let result = await withCheckedContinuation { (c: CheckedContinuation<ApplyResult, Never>) in
            proposals[requestID] = PendingProposal(continuation: c, deadline: deadline)
            scheduleReady()
        }
        if case .failure(let error) = result { throw error }
        return result
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
    /// after it is linearizable.
    func linearizableReadBarrier() async throws(EtcdError) {
        try await waitForLeader()
        let context = Array(withUnsafeBytes(of: idGenerator.next().bigEndian) { $0 })
        do {
            try raft.readIndex(context: context)
        } catch {
            throw .noLeader
        }
        let deadline = ContinuousClock.now + requestTimeout
        do {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                reads.add(context, PendingReads.Waiter(continuation: c, deadline: deadline))
                scheduleReady()
            }
        } catch {
            throw (error as? EtcdError) ?? .timeout
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

    private func runScheduledReady() {
        readyScheduled = false
        processReady()
    }

    /// Carries out every pending Ready (bounded, so one call cannot spin).
    func processReady() {
        var passes = 0
        while raft.hasReady && passes < 64 {
            passes += 1
            let ready = raft.ready()
            handle(ready)
            raft.advance(ready)
        }
        completeReads()
    }

    private func handle(_ ready: Ready) {
        if let soft = ready.softState { leadershipChanged(to: soft.lead) }
        do {
            if let snapshot = ready.snapshot {
                try persistence.saveSnapshot(snapshot)
                raftStorage.applySnapshot(snapshot)
                installSnapshot(snapshot)
            }
            try persistence.save(hardState: ready.hardState, entries: ready.entries, sync: ready.mustSync)
        } catch {
            // A member that cannot persist must not acknowledge anything.
            logger.critical(
                "failed to persist raft state; stopping to protect acknowledged writes",
                metadata: ["error": "\(error)", "hint": "check the data directory's disk and permissions"])
            fatalError("failed to persist raft state: \(error)")
        }
        if !ready.entries.isEmpty { raftStorage.append(ready.entries) }
        if let hard = ready.hardState { raftStorage.setHardState(hard) }
        send(ready.messages)
        for read in ready.readStates { reads.confirm(read.requestContext, index: read.index) }
        for entry in ready.committedEntries { apply(entry) }
    }

    /// Messages for other members (a single member has none to send).
    func send(_ messages: [Message]) {
        guard !messages.isEmpty else { return }
        transport?.send(messages)
    }

    private func apply(_ entry: Entry) {
        switch entry.type {
        case .normal:
            guard !entry.data.isEmpty else { return }  // a new leader's empty entry
            let envelope: CommandEnvelope
            do {
                envelope = try CommandEnvelope(decoding: entry.data)
            } catch {
                logger.error(
                    "skipping undecodable log entry",
                    metadata: ["index": "\(entry.index)", "term": "\(entry.term)", "error": "\(error)"])
                return
            }
            let (result, events) = stateMachine.apply(envelope.command)
            publish(events)
            if let waiter = proposals.removeValue(forKey: envelope.requestID) {
                waiter.continuation.resume(returning: result)
            }
        case .confChange:
            do {
                let change = try ConfChange(decoding: entry.data)
                _ = raft.applyConfChange(change)
            } catch {
                logger.error("skipping undecodable membership change", metadata: ["index": "\(entry.index)"])
            }
        }
    }

    private func installSnapshot(_ snapshot: Snapshot) {
        do {
            let store = try KVStore(snapshot: snapshot.data)
            stateMachine = StateMachine(store: store)
            watchHub.restore(currentRevision: store.currentRevision)
            wakeWatchStreams()
        } catch {
            logger.critical("cannot restore the store from a snapshot", metadata: ["index": "\(snapshot.metadata.index)"])
            fatalError("cannot restore the store from snapshot \(snapshot.metadata.index)")
        }
    }

    private func completeReads() {
        guard !reads.isEmpty else { return }
        for c in reads.takeReady(applied: raft.appliedIndex) { c.resume() }
    }

    private func leadershipChanged(to lead: NodeID) {
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
