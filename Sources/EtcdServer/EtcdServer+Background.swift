/// Periodic work: catching up lagging watchers, progress notifications and
/// lease expiry. Time enters the server only here.
extension EtcdServer {
    /// Runs until cancelled.
    public func runBackgroundTasks(progressInterval: Duration) async {
        let tick = Duration.milliseconds(100)
        var sinceProgress = Duration.zero
        var sinceLeaseCheck = Duration.zero
        while !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { return }
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
            }
        }
    }
}
