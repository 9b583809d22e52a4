/// The watch hub: etcd's `watchableStore` + `watchStream` semantics as a pure,
/// synchronous value.
///
/// ## Ownership
/// `WatchHub` has no locks, threads, timers or clocks. It is meant to be a
/// stored property of the server's actor, mutated only from there; time enters
/// only through the calls the owner makes (`syncUnsynced` periodically and
/// after draining a full stream, `progressTick` on the progress interval).
/// Identical call sequences yield identical responses: every iteration over
/// watchers or streams is in ascending creation order.
///
/// ## Streams and queues
/// Each stream (one gRPC `Watch` call) has one FIFO queue of `WatchResponse`s.
/// *Every* response for the stream's watchers goes through it — created,
/// events, canceled and progress — so the client sees them in the order the
/// hub produced them (a progress response can never overtake an events
/// response it vouches for, cf. etcd issue 15220). The consumer pulls with
/// `drain(_:maxResponses:)`; `takeReadyStreams()` says which queues gained
/// responses since it was last called.
///
/// Queues are bounded: at most `Configuration.streamCapacity` *events*
/// responses wait per stream (control responses — created, canceled,
/// progress — are few, bounded by client requests, and always admitted; a
/// progress response identical to the last one queued is not repeated).
/// Delivering to a full queue never blocks and never drops events: the watcher
/// leaves the synced group and catches up from history later.
///
/// ## Watcher groups (etcd's `synced` / `unsynced`)
/// Every watcher has `minRevision`: it has been sent every matching event
/// below it and none at or above it.
/// - **synced**: it has also been sent every matching event up to
///   `currentRevision`; `notify(events:revision:)` delivers to it directly.
///   Single-key watchers are found by key; range watchers are grouped by
///   range, so an event is tested once against each distinct range however
///   many watchers share it (many clients watching one prefix).
/// - **unsynced**: behind; it started in the past, or its queue was full when
///   `notify` tried to deliver (etcd's "victim"), or revisions were skipped.
///   `syncUnsynced(history:maxEvents:)` replays its events from
///   `EventHistory` in bounded batches and moves it to synced once it reaches
///   the store's current revision.
///
/// Unlike etcd, a victim does not keep the batch it failed to deliver; it
/// re-reads it from history. Memory stays bounded by the queues, at the price
/// that a compaction past a victim's position cancels it with
/// `compactRevision` (exactly what etcd does to any unsynced watcher).
///
/// ## Guarantees, per watcher
/// - events in revision order (sub-revision order inside a revision), each
///   matching event exactly once, none skipped;
/// - all events of one revision in one response, except that a watcher that
///   asked for `fragment` gets an oversized response as several fragments
///   (`fragment == true` on all but the last), queued back to back;
/// - a progress response's `headerRevision` `r` means every event `<= r` for
///   the watcher (for `watchID == -1`: for every watcher on the stream) is
///   already queued ahead of it; progress is never sent for an unsynced watcher.
/// - nothing is queued for a watcher after its canceled response.
///
/// ## Driving it (the server's actor)
/// ```swift
/// var hub = WatchHub(currentRevision: store.currentRevision)
/// // a gRPC Watch call opens:      let stream = hub.openStream()
/// // WatchCreateRequest:           hub.createWatcher(request, on: stream, history: store)
/// // WatchCancelRequest:           try? hub.cancelWatcher(id, on: stream)
/// // WatchProgressRequest:         hub.requestProgress(on: stream)
/// // after every applied write:    let (_, events) = try store.put(...)
/// //                               hub.notify(events: events, revision: store.currentRevision)
/// // every ~100 ms, and after a drain that freed a full queue:
/// //                               hub.syncUnsynced(history: store)
/// // every progress interval:      hub.progressTick()
/// // after any of the above:       for s in hub.takeReadyStreams() { wake s's sender }
/// // a stream's sender task:       let batch = await actor.drain(stream); write it at once
/// // the gRPC call ends:           hub.closeStream(stream)
/// ```
public struct WatchHub: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Events responses that may wait in one stream's queue (etcd's
        /// `chanBufLen`, 128). Control responses are not counted.
        public var streamCapacity: Int
        /// Fragmenting threshold for watchers with `fragment` (etcd: the
        /// server's max request bytes, 1.5 MiB, plus 512 KiB gRPC overhead).
        public var maxResponseBytes: Int
        /// Watchers whose history is read in one `syncUnsynced` call (etcd's
        /// `maxWatchersPerSync`, 512).
        public var maxWatchersPerSync: Int

        public init(
            streamCapacity: Int = 128, maxResponseBytes: Int = 2 * 1024 * 1024,
            maxWatchersPerSync: Int = 512
        ) {
            self.streamCapacity = max(1, streamCapacity)
            self.maxResponseBytes = maxResponseBytes
            self.maxWatchersPerSync = max(1, maxWatchersPerSync)
        }
    }

    /// Internal identity of a watcher across streams, in creation order.
    typealias Handle = UInt64

    struct Watcher: Sendable {
        /// Where and how the watcher's events go: plain values, so that
        /// delivery copies them without retaining anything.
        struct Target: Sendable {
            let stream: WatchStreamID
            let id: WatchID
            let filters: WatchFilters
            let prevKv: Bool
            let fragment: Bool
        }

        let target: Target
        let range: WatchKeyRange
        let progressNotify: Bool
        /// Every matching event below this revision has been queued, none above.
        var minRevision: Int64
        var synced: Bool
        /// Events were queued since the last `progressTick` (etcd elides the
        /// periodic progress notification then).
        var sentSinceProgressTick: Bool

        var stream: WatchStreamID { target.stream }
        var id: WatchID { target.id }
        var filters: WatchFilters { target.filters }
        var prevKv: Bool { target.prevKv }
        var fragment: Bool { target.fragment }

        init(
            stream: WatchStreamID, id: WatchID, range: WatchKeyRange, filters: WatchFilters, prevKv: Bool,
            progressNotify: Bool, fragment: Bool, minRevision: Int64, synced: Bool, sentSinceProgressTick: Bool
        ) {
            target = Target(stream: stream, id: id, filters: filters, prevKv: prevKv, fragment: fragment)
            self.range = range
            self.progressNotify = progressNotify
            self.minRevision = minRevision
            self.synced = synced
            self.sentSinceProgressTick = sentSinceProgressTick
        }
    }

    struct Stream: Sendable {
        var nextAutoID: WatchID = 0
        var watchers: [WatchID: Handle] = [:]
        var queue: [WatchResponse] = []
        /// Responses in `queue` that carry events (the ones capacity bounds).
        var queuedEventResponses = 0
        /// A `requestProgress` waits for the stream's watchers to be synced.
        var deferredProgress = false
    }

    public let configuration: Configuration
    /// The newest revision passed to `notify` (or given at `init`/`restore`):
    /// every synced watcher has been sent all its events up to it.
    public private(set) var currentRevision: Int64

    var streams: [WatchStreamID: Stream] = [:]
    var watchers: [Handle: Watcher] = [:]
    /// Synced single-key watchers by key, each list in ascending handle order.
    var syncedByKey: [[UInt8]: [Handle]] = [:]
    /// Synced range and from-key watchers grouped by their range, each list
    /// in ascending handle order.
    var syncedByRange: [WatchKeyRange: [Handle]] = [:]
    var unsynced: Set<Handle> = []
    /// Where the previous `syncUnsynced` stopped, for round-robin fairness.
    var syncCursor: Handle = 0
    var readyStreams: Set<WatchStreamID> = []
    var nextStream: UInt64 = 1
    var nextHandle: Handle = 1

    /// - Parameter currentRevision: the store's revision when the hub starts.
    public init(currentRevision: Int64, configuration: Configuration = Configuration()) {
        self.currentRevision = currentRevision
        self.configuration = configuration
    }

    // MARK: - Streams

    /// Opens a stream (one gRPC `Watch` call).
    public mutating func openStream() -> WatchStreamID {
        let id = WatchStreamID(rawValue: nextStream)
        nextStream += 1
        streams[id] = Stream()
        return id
    }

    /// Closes a stream: frees all its watchers and drops its queue.
    public mutating func closeStream(_ stream: WatchStreamID) {
        guard let state = streams.removeValue(forKey: stream) else { return }
        for handle in state.watchers.values {
            removeWatcher(handle)
        }
        readyStreams.remove(stream)
    }

    /// Takes the responses waiting on `stream`, oldest first (at most
    /// `maxResponses`). Returns `[]` for an unknown or closed stream.
    ///
    /// A sender drains until it gets `[]`, then waits to be woken again
    /// (`takeReadyStreams`). If the queue was full, some watchers may have
    /// fallen behind: call `syncUnsynced` afterwards (etcd retries victims
    /// every 10 ms).
    public mutating func drain(_ stream: WatchStreamID, maxResponses: Int = .max) -> [WatchResponse] {
        let taken: [WatchResponse] =
            withStream(stream) { state in
                let count = min(max(0, maxResponses), state.queue.count)
                let taken: [WatchResponse]
                if count == state.queue.count {
                    // All of it: hand the queue over instead of copying it.
                    taken = state.queue
                    state.queue = []
                    state.queue.reserveCapacity(count)
                } else {
                    taken = Array(state.queue.prefix(count))
                    state.queue.removeFirst(count)
                }
                state.queuedEventResponses -= taken.count(where: { !$0.events.isEmpty })
                return taken
            } ?? []
        if pendingResponseCount(stream) == 0 { readyStreams.remove(stream) }
        return taken
    }

    /// Responses waiting on `stream`.
    public func pendingResponseCount(_ stream: WatchStreamID) -> Int {
        streams[stream]?.queue.count ?? 0
    }

    /// The streams that gained responses since the last call, ascending.
    /// The owner wakes each one's sender, which then calls `drain`.
    public mutating func takeReadyStreams() -> [WatchStreamID] {
        let ready = readyStreams.filter { streams[$0].map { !$0.queue.isEmpty } ?? false }
        readyStreams.removeAll()
        return ready.sorted()
    }

    // MARK: - Watchers

    /// Creates a watcher on `stream` and queues its created response (etcd's
    /// `WatchCreateRequest`); all that the client must see is queued.
    ///
    /// - `startRevision <= 0`: watch from the store's current revision + 1.
    /// - `startRevision > current`: synced; waits for that revision.
    /// - `startRevision <= history.compactedRevision` (and compaction
    ///   happened): created, then immediately a canceled response with
    ///   `compactRevision`; the watcher is not kept.
    /// - otherwise, in the past: unsynced; `syncUnsynced` replays history.
    ///
    /// Refusals queue a response with `created`, `canceled`, `watchID == -1`
    /// and etcd's reason (duplicate client ID, empty range), and return the error.
    /// `.streamNotFound` queues nothing.
    @discardableResult
    public mutating func createWatcher(
        _ request: WatchCreateRequest, on stream: WatchStreamID, history: some EventHistory
    ) -> Result<WatchID, WatchError> {
        // Taken out and put back on every path, so its queue is not copied.
        guard var state = streams.removeValue(forKey: stream) else { return .failure(.streamNotFound) }
        let storeRevision = history.currentRevision

        func refuse(_ error: WatchError, _ state: inout Stream) -> Result<WatchID, WatchError> {
            Self.enqueue(
                WatchResponse(
                    watchID: WatchResponse.streamWatchID, headerRevision: storeRevision,
                    created: true, canceled: true, cancelReason: error.reason),
                on: &state)
            streams[stream] = state
            readyStreams.insert(stream)
            return .failure(error)
        }

        guard let range = WatchKeyRange(request.range) else { return refuse(.emptyRange, &state) }
        let id: WatchID
        if request.watchID > 0 {
            guard state.watchers[request.watchID] == nil else {
                return refuse(.duplicateWatchID, &state)
            }
            id = request.watchID
        } else {
            while state.watchers[state.nextAutoID] != nil { state.nextAutoID += 1 }
            id = state.nextAutoID
            state.nextAutoID += 1
        }
        Self.enqueue(WatchResponse(watchID: id, headerRevision: storeRevision, created: true), on: &state)
        readyStreams.insert(stream)

        let startRevision = request.startRevision > 0 ? request.startRevision : storeRevision + 1
        if Self.isCompacted(startRevision, in: history) {
            Self.enqueue(
                WatchResponse(
                    watchID: id, headerRevision: storeRevision, canceled: true,
                    compactRevision: history.compactedRevision),
                on: &state)
            streams[stream] = state
            return .success(id)
        }

        let handle = nextHandle
        nextHandle += 1
        state.watchers[id] = handle
        streams[stream] = state
        watchers[handle] = Watcher(
            stream: stream, id: id, range: range, filters: request.filters,
            prevKv: request.prevKv, progressNotify: request.progressNotify,
            fragment: request.fragment, minRevision: startRevision,
            synced: false, sentSinceProgressTick: false)
        if startRevision > storeRevision {
            markSynced(handle)
        } else {
            unsynced.insert(handle)
        }
        return .success(id)
    }

    /// Cancels watcher `id` on `stream` and queues its canceled response
    /// after anything already queued for it. Unknown IDs queue nothing
    /// (etcd answers `ErrWatcherNotExist` silently) and throw.
    public mutating func cancelWatcher(_ id: WatchID, on stream: WatchStreamID) throws(WatchError) {
        guard streams[stream] != nil else { throw .streamNotFound }
        let revision = currentRevision
        let removed: Handle? = withStream(stream) { state in
            guard let handle = state.watchers.removeValue(forKey: id) else { return nil }
            Self.enqueue(WatchResponse(watchID: id, headerRevision: revision, canceled: true), on: &state)
            return handle
        } ?? nil
        guard let handle = removed else { throw .watcherNotFound }
        readyStreams.insert(stream)
        removeWatcher(handle)
        flushDeferredProgress(stream)
    }

    /// Whether watcher `id` on `stream` is synced; nil if there is no such watcher.
    public func isSynced(_ id: WatchID, on stream: WatchStreamID) -> Bool? {
        guard let handle = streams[stream]?.watchers[id] else { return nil }
        return watchers[handle]?.synced
    }

    /// Number of open streams.
    public var streamCount: Int { streams.count }

    /// Number of watchers on all streams.
    public var watcherCount: Int { watchers.count }

    /// Number of watchers that are behind and wait for `syncUnsynced`.
    public var unsyncedWatcherCount: Int { unsynced.count }

    // MARK: - Delivery

    /// Delivers the events of one applied revision (all of them together, in
    /// sub-revision order) to the synced watchers they match. Call once for
    /// every revision the store creates, right after applying it (a write
    /// that changes nothing creates no revision and needs no call).
    ///
    /// A watcher whose queue is full leaves the synced group at `revision`;
    /// it gets these events later from `syncUnsynced`.
    ///
    /// Revisions are expected one by one. If some were skipped (`revision >
    /// currentRevision + 1`), the synced watchers that may have missed them
    /// fall back to history instead of silently losing events.
    public mutating func notify(events: [Event], revision: Int64) {
        if revision > currentRevision + 1 {
            resyncSynced(before: revision)
        }
        if revision > currentRevision { currentRevision = revision }
        guard !events.isEmpty, !watchers.isEmpty else { return }
        // Every synced watcher is in exactly one group (its key, or its
        // range), and all watchers of a group match the same events: match
        // each group once, then deliver to its watchers.
        var groups: [MatchedGroup] = []
        if events.count == 1 {
            let key = events[0].kv.key
            if let exact = syncedByKey[key] { groups.append(MatchedGroup(handles: exact, events: events)) }
            for (range, handles) in syncedByRange where range.contains(key) {
                groups.append(MatchedGroup(handles: handles, events: events))
            }
        } else {
            if !syncedByKey.isEmpty {
                var seen: Set<[UInt8]> = []
                for event in events where seen.insert(event.kv.key).inserted {
                    guard let exact = syncedByKey[event.kv.key] else { continue }
                    let key = event.kv.key
                    groups.append(MatchedGroup(handles: exact, events: events.filter { $0.kv.key == key }))
                }
            }
            for (range, handles) in syncedByRange {
                let matched = events.filter { range.contains($0.kv.key) }
                if !matched.isEmpty { groups.append(MatchedGroup(handles: handles, events: matched)) }
            }
        }
        guard !groups.isEmpty else { return }
        // Deliver in ascending handle order (creation order), as everywhere.
        var victims: [Handle] = []
        if groups.count == 1 {
            for handle in groups[0].handles where !deliver(&groups[0], to: handle, revision: revision) {
                victims.append(handle)
            }
        } else {
            var order: [(handle: Handle, group: Int)] = []
            order.reserveCapacity(groups.reduce(0) { $0 + $1.handles.count })
            for (g, group) in groups.enumerated() {
                for handle in group.handles { order.append((handle, g)) }
            }
            // Runs of sorted handles: the sort merges them.
            order.sort { $0.handle < $1.handle }
            for (handle, g) in order where !deliver(&groups[g], to: handle, revision: revision) {
                victims.append(handle)
            }
        }
        if !victims.isEmpty {
            // Each leaves the synced group at `revision` and catches up from history.
            for handle in victims { watchers[handle]?.minRevision = revision }
            markUnsynced(victims)
        }
    }

    /// One group of synced watchers and the events of a revision it matches,
    /// with the events each watcher's options leave (computed once per
    /// combination of filters and `prevKv`, shared by every watcher with it).
    struct MatchedGroup {
        let handles: [Handle]
        let events: [Event]
        private var variants: [[Event]?] = []

        init(handles: [Handle], events: [Event]) {
            self.handles = handles
            self.events = events
        }

        mutating func kept(filters: WatchFilters, prevKv: Bool) -> [Event] {
            let slot = Int(filters.rawValue & 3) << 1 | (prevKv ? 1 : 0)
            if variants.isEmpty { variants = Array(repeating: nil, count: 8) }
            if let cached = variants[slot] { return cached }
            let kept = WatchHub.kept(events, filters: filters, prevKv: prevKv)
            variants[slot] = kept
            return kept
        }
    }

    /// Queues the events of `revision` that `group` matched for one of its
    /// synced watchers. False when its stream's queue was full (nothing
    /// queued): the watcher must fall back to history.
    private mutating func deliver(_ group: inout MatchedGroup, to handle: Handle, revision: Int64) -> Bool {
        guard let index = watchers.index(forKey: handle) else { return true }
        // Read in place: the getter would copy (retain and release) the whole watcher.
        let (minRevision, target) = Self.inPlace(&watchers.values[index]) { ($0.minRevision, $0.target) }
        guard revision >= minRevision else { return true }
        let events = group.kept(filters: target.filters, prevKv: target.prevKv)
        if !events.isEmpty {
            guard enqueueEvents(events, for: target, headerRevision: revision) else { return false }
            watchers.values[index].sentSinceProgressTick = true
        }
        watchers.values[index].minRevision = revision + 1
        return true
    }

    @inline(__always)
    static func inPlace<T>(_ watcher: inout Watcher, _ body: (inout Watcher) -> T) -> T { body(&watcher) }

    // MARK: - Progress

    /// A client's `WatchProgressRequest`: queues a progress response with
    /// `watchID == -1` and `headerRevision == currentRevision` once every
    /// watcher on the stream is synced — at once if they are, else as soon as
    /// `syncUnsynced` (or a cancel) brings the last one up to date. A stream
    /// without watchers is answered at once.
    public mutating func requestProgress(on stream: WatchStreamID) {
        guard withStream(stream, { $0.deferredProgress = true }) != nil else { return }
        flushDeferredProgress(stream)
    }

    /// The periodic progress notification (etcd's progress ticker, default
    /// every 10 minutes): every synced watcher that asked for
    /// `progressNotify` and was sent no events since the previous tick gets a
    /// progress response with its ID and `headerRevision == currentRevision`.
    /// Unsynced watchers are skipped, as in etcd.
    public mutating func progressTick() {
        for handle in watchers.keys.sorted() {
            var watcher = watchers[handle]!
            guard watcher.progressNotify else { continue }
            if !watcher.sentSinceProgressTick && watcher.synced {
                let progress = WatchResponse(watchID: watcher.id, headerRevision: currentRevision)
                withStream(watcher.stream) { Self.enqueue(progress, on: &$0) }
                readyStreams.insert(watcher.stream)
            }
            watcher.sentSinceProgressTick = false
            watchers[handle] = watcher
        }
    }

    // MARK: - Snapshot restore

    /// The store was replaced (e.g. by a Raft snapshot): every synced watcher
    /// becomes unsynced at its position and `syncUnsynced` re-reads from the
    /// new history (etcd's `watchableStore.Restore`).
    public mutating func restore(currentRevision: Int64) {
        resyncSynced(before: .max)
        self.currentRevision = currentRevision
    }

    // MARK: - Internals

    /// Moves every synced watcher that still wants revisions below `limit`
    /// to the unsynced group, positioned just after `currentRevision` (all it
    /// can have been sent), so `syncUnsynced` replays the rest from history.
    mutating func resyncSynced(before limit: Int64) {
        let next = currentRevision + 1
        var behind: [Handle] = []
        for handle in watchers.keys.sorted() {
            guard var watcher = watchers[handle], watcher.synced, watcher.minRevision < limit else { continue }
            watcher.minRevision = max(watcher.minRevision, next)
            watchers[handle] = watcher
            behind.append(handle)
        }
        markUnsynced(behind)
    }

    static func isCompacted(_ revision: Int64, in history: some EventHistory) -> Bool {
        // The EventHistory contract (and etcd): `events(from:)` throws only
        // for `from < compactedRevision`; the compacted revision itself is
        // still served.
        history.compactedRevision > 0 && revision < history.compactedRevision
    }

    func hasRoom(_ stream: WatchStreamID) -> Bool {
        guard let state = streams[stream] else { return false }
        return state.queuedEventResponses < configuration.streamCapacity
    }

    /// Filters, strips `prevKv` unless asked, and queues `events` (possibly
    /// fragmented) for `watcher`. Returns the number of events queued, or nil,
    /// queuing nothing, when something was left to send and the stream's
    /// queue is full.
    mutating func deliver(_ events: [Event], to watcher: inout Watcher, headerRevision: Int64) -> Int? {
        let kept = Self.kept(events, filters: watcher.filters, prevKv: watcher.prevKv)
        if kept.isEmpty { return 0 }
        guard enqueueEvents(kept, for: watcher.target, headerRevision: headerRevision) else { return nil }
        watcher.sentSinceProgressTick = true
        return kept.count
    }

    /// The events a watcher with these options is sent: filtered, and
    /// without `prevKv` unless asked. Returns `events` itself (no copy) when
    /// nothing is removed.
    static func kept(_ events: [Event], filters: WatchFilters, prevKv: Bool) -> [Event] {
        let strips = !prevKv && events.contains { $0.prevKv != nil }
        if filters.isEmpty && !strips { return events }
        var kept: [Event] = []
        kept.reserveCapacity(events.count)
        for event in events where filters.admits(event) {
            var event = event
            if !prevKv { event.prevKv = nil }
            kept.append(event)
        }
        return kept
    }

    /// Queues one events response (fragmented if the watcher asked) unless
    /// the stream's queue is full.
    private mutating func enqueueEvents(_ kept: [Event], for watcher: Watcher.Target, headerRevision: Int64) -> Bool {
        guard let index = streams.index(forKey: watcher.stream),
            streams.values[index].queuedEventResponses < configuration.streamCapacity
        else { return false }
        let response = WatchResponse(watchID: watcher.id, headerRevision: headerRevision, events: kept)
        if watcher.fragment {
            for piece in response.fragmented(maxBytes: configuration.maxResponseBytes) {
                Self.enqueue(piece, on: &streams.values[index])
            }
        } else {
            Self.enqueue(response, on: &streams.values[index])
        }
        readyStreams.insert(watcher.stream)
        return true
    }

    /// Runs `body` on the stream's state in place (no copy of its queue).
    @discardableResult
    mutating func withStream<R>(_ stream: WatchStreamID, _ body: (inout Stream) -> R) -> R? {
        guard let index = streams.index(forKey: stream) else { return nil }
        return body(&streams.values[index])
    }

    static func enqueue(_ response: WatchResponse, on state: inout Stream) {
        // An identical progress response still waiting says it already: a
        // client spamming progress requests cannot grow the queue.
        if response.isProgressNotify, state.queue.last == response { return }
        state.queue.append(response)
        if !response.events.isEmpty { state.queuedEventResponses += 1 }
    }

    /// Queues the stream's deferred progress response if all its watchers are synced.
    mutating func flushDeferredProgress(_ stream: WatchStreamID) {
        guard let state = streams[stream], state.deferredProgress else { return }
        for handle in state.watchers.values where !(watchers[handle]?.synced ?? true) {
            return
        }
        let progress = WatchResponse(watchID: WatchResponse.streamWatchID, headerRevision: currentRevision)
        withStream(stream) { state in
            state.deferredProgress = false
            Self.enqueue(progress, on: &state)
        }
        readyStreams.insert(stream)
    }

    mutating func markSynced(_ handle: Handle) {
        guard var watcher = watchers[handle] else { return }
        unsynced.remove(handle)
        if watcher.synced { return }
        watcher.synced = true
        watchers[handle] = watcher
        if watcher.range.shape == .single {
            Self.insertSorted(handle, into: &syncedByKey[watcher.range.key, default: []])
        } else {
            Self.insertSorted(handle, into: &syncedByRange[watcher.range, default: []])
        }
    }

    mutating func markUnsynced(_ handle: Handle) {
        guard var watcher = watchers[handle] else { return }
        if watcher.synced { unlinkSynced(handle, range: watcher.range) }
        watcher.synced = false
        watchers[handle] = watcher
        unsynced.insert(handle)
    }

    /// `markUnsynced` for many watchers at once: each group they leave is
    /// rewritten once, however many leave it.
    mutating func markUnsynced(_ handles: [Handle]) {
        var leaving: [WatchKeyRange: Set<Handle>] = [:]
        for handle in handles {
            guard let index = watchers.index(forKey: handle) else { continue }
            if watchers.values[index].synced {
                watchers.values[index].synced = false
                leaving[watchers.values[index].range, default: []].insert(handle)
            }
            unsynced.insert(handle)
        }
        for (range, gone) in leaving { unlinkSynced(gone, range: range) }
    }

    mutating func unlinkSynced(_ handle: Handle, range: WatchKeyRange) {
        func removeOne(_ handles: inout [Handle]) {
            let i = Self.lowerBound(handle, in: handles)
            if i < handles.count && handles[i] == handle { handles.remove(at: i) }
        }
        if range.shape == .single {
            guard let index = syncedByKey.index(forKey: range.key) else { return }
            removeOne(&syncedByKey.values[index])
            if syncedByKey.values[index].isEmpty { syncedByKey.remove(at: index) }
        } else {
            guard let index = syncedByRange.index(forKey: range) else { return }
            removeOne(&syncedByRange.values[index])
            if syncedByRange.values[index].isEmpty { syncedByRange.remove(at: index) }
        }
    }

    mutating func unlinkSynced(_ gone: Set<Handle>, range: WatchKeyRange) {
        if gone.count == 1, let handle = gone.first { return unlinkSynced(handle, range: range) }
        if range.shape == .single {
            guard let index = syncedByKey.index(forKey: range.key) else { return }
            syncedByKey.values[index].removeAll { gone.contains($0) }
            if syncedByKey.values[index].isEmpty { syncedByKey.remove(at: index) }
        } else {
            guard let index = syncedByRange.index(forKey: range) else { return }
            syncedByRange.values[index].removeAll { gone.contains($0) }
            if syncedByRange.values[index].isEmpty { syncedByRange.remove(at: index) }
        }
    }

    static func lowerBound(_ handle: Handle, in handles: [Handle]) -> Int {
        var low = 0, high = handles.count
        while low < high {
            let mid = (low + high) / 2
            if handles[mid] < handle { low = mid + 1 } else { high = mid }
        }
        return low
    }

    static func insertSorted(_ handle: Handle, into handles: inout [Handle]) {
        guard let last = handles.last, last >= handle else { return handles.append(handle) }
        let i = lowerBound(handle, in: handles)
        if i < handles.count && handles[i] == handle { return }
        handles.insert(handle, at: i)
    }

    /// Synced range and from-key watchers (for tests).
    var syncedRanges: Set<Handle> { Set(syncedByRange.values.joined()) }

    /// Drops a watcher from every group (its stream link is the caller's business).
    mutating func removeWatcher(_ handle: Handle) {
        guard let watcher = watchers.removeValue(forKey: handle) else { return }
        unsynced.remove(handle)
        unlinkSynced(handle, range: watcher.range)
    }
}
