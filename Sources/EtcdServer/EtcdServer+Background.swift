/// Periodic work: Raft ticks, catching up lagging watchers, progress
/// notifications and lease expiry. Time enters the server only here.
extension EtcdServer {
    /// Starts the member and runs its timers until cancelled.
    public func run(progressInterval: Duration) async throws {
        await startRaft()
        if transport != nil {
            try await startPeers()
            Task { await self.consumePeers() }
        }
        let tick = Duration.milliseconds(max(1, config.heartbeatIntervalMs))
        var sinceProgress = Duration.zero
        var sinceLeaseCheck = Duration.zero
        defer { resumeCompactionWaiters(force: true) }
        while !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { return }
            tickRaft()
            continueCompaction()
            commitBackend()
            resumeCompactionWaiters()
            updateGauges()
            syncWatchers()
            sinceProgress += tick
            if sinceProgress >= progressInterval {
                sinceProgress = .zero
                watchProgressTick()
            }
            sinceLeaseCheck += tick
            if sinceLeaseCheck >= .milliseconds(500) {
                sinceLeaseCheck = .zero
                revokeExpiredLeases()
                publishAttributesIfNeeded()
                updateSizeGauges()
            }
            if removedFromCluster {
                await transport?.stop()
                throw MemberRemovedError()
            }
        }
    }
}

/// Thrown by `run` once this member applied its own removal: etcd stops a
/// removed member, whose data directory must not be reused.
public struct MemberRemovedError: Error, Sendable, CustomStringConvertible {
    public var description: String { "the member has been permanently removed from the cluster" }
}
