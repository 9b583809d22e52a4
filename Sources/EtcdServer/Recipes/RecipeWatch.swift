import MVCC

/// A watcher the member holds for itself, for the lock and election
/// recipes: a stream of the same watch hub a client's Watch call uses, read
/// here instead of sent. A recipe that waits for a key to go away awaits
/// its next events, so waiting costs nothing until a revision touches the
/// watched keys.
///
/// Opened with `EtcdServer.openRecipeWatch(_:from:)`; whoever opens one
/// closes it (`close()`) on every path, cancellation included.
struct RecipeWatch {
    let server: EtcdServer
    let stream: WatchStreamID
    private var signal: AsyncStream<Void>.Iterator
    /// Responses drained and not yet looked at, and the header drained
    /// with them.
    private var pending: [WatchResponse] = []
    private var drainedHeader: ResponseHeader?

    init(server: EtcdServer, stream: WatchStreamID, signal: AsyncStream<Void>) {
        self.server = server
        self.stream = stream
        self.signal = signal.makeAsyncIterator()
    }

    /// The events of the next response that has any (one revision, or the
    /// consecutive revisions a catch-up delivers together), with the header
    /// a watch response carries: its revision is the response's.
    ///
    /// Throws `.canceled` once the task is cancelled, `.compacted` when the
    /// start revision was compacted away (what etcd's watch reports to the
    /// recipes), and `.stopped` if the stream ends otherwise.
    mutating func nextEvents() async throws(EtcdError) -> (events: [Event], header: ResponseHeader) {
        while true {
            while !pending.isEmpty {
                let response = pending.removeFirst()
                if response.compactRevision > 0 { throw .compacted }
                if response.canceled { throw .stopped }
                guard !response.events.isEmpty, var header = drainedHeader else { continue }
                header.revision = response.headerRevision
                return (response.events, header)
            }
            // AsyncStream ends its iteration when the task is cancelled.
            guard await signal.next() != nil, !Task.isCancelled else {
                throw Task.isCancelled ? .canceled : .stopped
            }
            (pending, drainedHeader) = await server.drainWatch(stream)
        }
    }

    func close() async {
        await server.closeWatchStream(stream)
    }
}

extension EtcdServer {
    /// Opens a stream with one watcher on `range` from `revision`, if the
    /// caller may read the range (the permission a client's watch needs;
    /// refused with the read path's error rather than a canceled watch).
    func openRecipeWatch(_ range: KeyRange, from revision: Int64) async throws(EtcdError) -> (WatchStreamID, AsyncStream<Void>) {
        try await authorizeRead(key: range.key.isEmpty ? [0] : range.key, rangeEnd: range.rangeEnd)
        let (stream, signal) = openWatchStream()
        createWatch(WatchCreateRequest(range: range, startRevision: revision), on: stream)
        return (stream, signal)
    }
}
