import MVCC

/// Watch streams. The hub holds every stream's bounded queue; a stream's
/// gRPC sender waits on a signal, then drains. Because the queue lives in the
/// hub, a slow client fills only its own queue, and the hub moves its
/// watchers to the unsynced group instead of blocking writers.
extension EtcdServer {
    /// Most responses handed to a sender per drain, which writes them with
    /// one flush: large enough that a revision's responses for a stream's
    /// watchers usually go together, small enough to keep each actor turn
    /// short when a stream has a long backlog.
    static let watchDrainBatch = 256

    /// Opens a stream for one gRPC Watch call. The returned signal fires
    /// whenever responses are waiting; it finishes when the stream closes.
    public func openWatchStream() -> (WatchStreamID, AsyncStream<Void>) {
        let id = watchHub.openStream()
        let (signal, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        watchSignals[id] = continuation
        return (id, signal)
    }

    public func closeWatchStream(_ id: WatchStreamID) {
        watchHub.closeStream(id)
        watchSignals.removeValue(forKey: id)?.finish()
    }

    public func createWatch(_ request: WatchCreateRequest, on stream: WatchStreamID) {
        _ = watchHub.createWatcher(request, on: stream, history: stateMachine.store)
        wakeWatchStreams()
    }

    public func cancelWatch(_ watchID: WatchID, on stream: WatchStreamID) {
        try? watchHub.cancelWatcher(watchID, on: stream)
        wakeWatchStreams()
    }

    public func requestWatchProgress(on stream: WatchStreamID) {
        watchHub.requestProgress(on: stream)
        wakeWatchStreams()
    }

    /// Takes the next responses queued for a stream, with the header every
    /// watch response carries (its revision comes from each response).
    public func drainWatch(_ stream: WatchStreamID) -> (responses: [WatchResponse], header: ResponseHeader) {
        let responses = watchHub.drain(stream, maxResponses: Self.watchDrainBatch)
        logger.trace("drained", metadata: ["stream": "\(stream)", "responses": "\(responses.count)", "pending": "\(watchHub.pendingResponseCount(stream))"])
        if watchHub.pendingResponseCount(stream) > 0 { watchSignals[stream]?.yield(()) }
        return (responses, header(revision: stateMachine.store.currentRevision))
    }

    /// Moves lagging watchers forward from history; run periodically.
    func syncWatchers() {
        guard watchHub.unsyncedWatcherCount > 0 else { return }
        let report = watchHub.syncUnsynced(history: stateMachine.store)
        logger.debug(
            "synced watchers",
            metadata: [
                "delivered-events": "\(report.deliveredEvents)", "remaining-unsynced": "\(report.remainingUnsynced)",
                "blocked-on-full-stream": "\(report.blockedOnFullStream)",
            ])
        wakeWatchStreams()
    }

    func watchProgressTick() {
        watchHub.progressTick()
        wakeWatchStreams()
    }

    /// Hands a write's events to the watchers (all of one revision at once).
    func publish(_ events: [Event]) {
        guard !events.isEmpty else { return }
        watchHub.notify(events: events, revision: stateMachine.store.currentRevision)
        wakeWatchStreams()
    }

    func wakeWatchStreams() {
        for stream in watchHub.takeReadyStreams() {
            logger.trace("wake", metadata: ["stream": "\(stream)"])
            watchSignals[stream]?.yield(())
        }
    }
}
