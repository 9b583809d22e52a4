extension WatchHub {
    /// Queues etcd's answer to a create request refused before it reached
    /// the hub (a failed permission check): created and canceled at once,
    /// `watchID == -1`, with `reason` as the cancel reason. Nothing is
    /// queued for an unknown stream.
    public mutating func refuseCreate(on stream: WatchStreamID, reason: String, headerRevision: Int64) {
        let response = WatchResponse(
            watchID: WatchResponse.streamWatchID, headerRevision: headerRevision, created: true, canceled: true,
            cancelReason: reason)
        guard withStream(stream, { Self.enqueue(response, on: &$0) }) != nil else { return }
        readyStreams.insert(stream)
    }
}
