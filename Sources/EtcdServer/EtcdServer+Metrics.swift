import Raft

/// Feeding etcd's metrics: the event-driven ones where the events happen
/// (leader changes, failed proposals, heartbeat round trips), the gauges
/// from the background loop, so that a scrape reads numbers already there
/// instead of asking the actor.
extension EtcdServer {
    var metrics: ServerMetrics { ServerMetrics.shared }

    /// Refreshes the gauges that mirror Raft and watch state (every tick:
    /// each is a field read).
    func updateGauges() {
        metrics.hasLeader.record(raft.lead == .none ? 0 : 1)
        metrics.isLeader.record(raft.lead == memberID ? 1 : 0)
        metrics.proposalsCommitted.record(raft.committedIndex)
        metrics.proposalsApplied.record(raft.appliedIndex)
        metrics.proposalsPending.record(proposals.count)
        metrics.keysTotal.record(stateMachine.store.keyCount)
        metrics.watchers.record(watchHub.watcherCount)
        metrics.watchStreams.record(watchHub.streamCount)
    }

    /// Refreshes the database size gauges (less often: the backend opens a
    /// read transaction to measure the space in use).
    func updateSizeGauges() {
        let size = backend?.sizeInBytes ?? stateMachine.store.sizeEstimate
        metrics.dbTotalSize.record(size)
        metrics.dbTotalSizeInUse.record(backend?.sizeInUse ?? size)
    }

    func recordLeader(_ lead: NodeID) {
        if metricsState.leaderObserved(lead) { metrics.leaderChanges.increment() }
        metrics.hasLeader.record(lead == .none ? 0 : 1)
        metrics.isLeader.record(lead == memberID ? 1 : 0)
        if lead != memberID { metricsState.resetHeartbeats() }
    }

    /// Counts a proposal that never applied here (etcd's
    /// `proposals_failed_total`: no leader, timeout, stopped); rejections
    /// before proposing and errors of applying do not count.
    func recordProposalFailure(_ error: EtcdError) {
        switch error {
        case .noLeader, .timeout, .stopped, .leaderChanged: metrics.proposalsFailed.increment()
        default: break
        }
    }

    func recordSent(_ messages: [Message]) {
        let now = ContinuousClock.now
        for message in messages where message.type == .heartbeat {
            metricsState.heartbeatSent(to: message.to, at: now)
        }
    }

    func recordReceived(_ message: Message) {
        guard message.type == .heartbeatResp, let sent = metricsState.heartbeatAnswered(by: message.from) else { return }
        metrics.peerRoundTrip(to: message.from).record(since: sent)
    }
}
