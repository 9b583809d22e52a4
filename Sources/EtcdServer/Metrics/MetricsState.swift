import Raft

/// What the member remembers between events to derive its metrics: the
/// leader it last saw (leader changes are counted on a change to a known
/// leader, as etcd counts them) and when each peer was last sent a
/// heartbeat (a heartbeat and its response are the round trip we measure;
/// etcd probes each peer over its HTTP transport instead).
struct MetricsState: Sendable {
    private var lastLeader: NodeID = .none
    /// The oldest heartbeat per peer still waiting for its response.
    private var heartbeatSent: [NodeID: ContinuousClock.Instant] = [:]

    /// Whether `lead` is a new known leader.
    mutating func leaderObserved(_ lead: NodeID) -> Bool {
        defer { lastLeader = lead }
        return lead != .none && lead != lastLeader
    }

    mutating func heartbeatSent(to peer: NodeID, at now: ContinuousClock.Instant) {
        if heartbeatSent[peer] == nil { heartbeatSent[peer] = now }
    }

    /// When the heartbeat answered by `peer` was sent, if one was waiting.
    mutating func heartbeatAnswered(by peer: NodeID) -> ContinuousClock.Instant? {
        heartbeatSent.removeValue(forKey: peer)
    }

    /// Forgets outstanding heartbeats (on losing leadership a response may
    /// never come, and a late one would count the time spent as follower).
    mutating func resetHeartbeats() {
        heartbeatSent.removeAll()
    }
}
