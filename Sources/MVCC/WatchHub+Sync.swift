/// What one `syncUnsynced` call did, so the owner can decide when to call
/// again (etcd: at once while the unsynced group shrinks, else every 100 ms).
public struct WatchSyncReport: Sendable, Hashable {
    /// Watchers still unsynced after the call.
    public var remainingUnsynced: Int
    /// Watchers that reached the current revision and became synced.
    public var becameSynced: Int
    /// Events queued by the call.
    public var deliveredEvents: Int
    /// Watchers canceled because their position had been compacted.
    public var canceledByCompaction: Int
    /// Unsynced watchers skipped because their stream's queue is full.
    public var blockedOnFullStream: Int

    public init(
        remainingUnsynced: Int = 0, becameSynced: Int = 0, deliveredEvents: Int = 0,
        canceledByCompaction: Int = 0, blockedOnFullStream: Int = 0
    ) {
        self.remainingUnsynced = remainingUnsynced
        self.becameSynced = becameSynced
        self.deliveredEvents = deliveredEvents
        self.canceledByCompaction = canceledByCompaction
        self.blockedOnFullStream = blockedOnFullStream
    }
}

extension WatchHub {
    /// Catches unsynced watchers up from `history` (etcd's `syncWatchers` and
    /// victim retry in one step). Call periodically, and after draining a
    /// stream that had been full.
    ///
    /// Each call visits at most `configuration.maxWatchersPerSync` unsynced
    /// watchers whose stream has room, round-robin across calls, and for each
    /// reads one window of at most `maxEvents` revisions starting at its
    /// position, queuing one response of at most `maxEvents` events — cut only
    /// between revisions (a single revision larger than `maxEvents` goes
    /// whole). The response's `headerRevision` is the last revision the batch
    /// covers, so it never claims more than was sent. A watcher that reaches
    /// the store's current revision becomes synced.
    ///
    /// A watcher whose position has been compacted gets a canceled response
    /// with `compactRevision` and is removed.
    @discardableResult
    public mutating func syncUnsynced(history: some EventHistory, maxEvents: Int = 1000) -> WatchSyncReport {
        let maxEvents = max(1, maxEvents)
        var report = WatchSyncReport()
        guard !unsynced.isEmpty else { return report }
        let storeRevision = history.currentRevision
        let ordered = unsynced.sorted()
        let start = ordered.firstIndex(where: { $0 > syncCursor }) ?? 0
        var touchedStreams: Set<WatchStreamID> = []
        var visited = 0

        for offset in 0..<ordered.count {
            guard visited < configuration.maxWatchersPerSync else { break }
            let handle = ordered[(start + offset) % ordered.count]
            guard var watcher = watchers[handle], !watcher.synced else { continue }
            touchedStreams.insert(watcher.stream)

            if watcher.minRevision > storeRevision {
                // Nothing to read yet (e.g. after `restore` to an older store).
                markSynced(handle)
                report.becameSynced += 1
                continue
            }
            if Self.isCompacted(watcher.minRevision, in: history) {
                cancelCompacted(handle, compactRevision: history.compactedRevision)
                report.canceledByCompaction += 1
                continue
            }
            guard hasRoom(watcher.stream) else {
                report.blockedOnFullStream += 1
                continue
            }
            visited += 1
            syncCursor = handle

            let events: [Event]
            let scannedThrough: Int64
            do {
                (events, scannedThrough) = try Self.readWindows(
                    history, range: watcher.range.keyRange, from: watcher.minRevision,
                    through: storeRevision, maxEvents: maxEvents)
            } catch .compacted {
                cancelCompacted(handle, compactRevision: history.compactedRevision)
                report.canceledByCompaction += 1
                continue
            } catch {
                // `futureRevision` etc.: the history is not ready; retry next call.
                continue
            }

            var batch = events
            var nextRevision = scannedThrough + 1
            if let cut = Self.revisionBoundary(events, maxEvents: maxEvents) {
                batch = Array(events[..<cut])
                nextRevision = events[cut].kv.modRevision
            }
            // Events of a revision below the watcher's position cannot be
            // here by contract; drop them defensively to never duplicate.
            let from = watcher.minRevision
            batch.removeAll { $0.kv.modRevision < from }
            guard let delivered = deliver(batch, to: &watcher, headerRevision: nextRevision - 1) else {
                continue  // unreachable: the stream had room
            }
            report.deliveredEvents += delivered
            watcher.minRevision = nextRevision
            watchers[handle] = watcher
            if nextRevision > storeRevision {
                markSynced(handle)
                report.becameSynced += 1
            }
        }
        for stream in touchedStreams.sorted() {
            flushDeferredProgress(stream)
        }
        report.remainingUnsynced = unsynced.count
        return report
    }

    /// Reads history for one watcher from `from`, in windows of revisions:
    /// the first spans `maxEvents` revisions (every revision holds at least
    /// one event, so a dense range fills a batch in one read); each window
    /// that found nothing is followed by one 8 times wider, so a watcher on a
    /// rarely written key crosses a long quiet history in a few reads. Stops
    /// once events were found, at `through`, or after 8 reads. Returns the
    /// events and the last revision scanned.
    static func readWindows(
        _ history: some EventHistory, range: KeyRange, from: Int64, through: Int64, maxEvents: Int
    ) throws(MVCCError) -> ([Event], Int64) {
        var start = from
        var width = Int64(maxEvents)
        var reads = 0
        while true {
            let (end, overflow) = start.addingReportingOverflow(width - 1)
            let to = overflow ? through : min(through, end)
            let events = try history.events(in: range, from: start, to: to)
            reads += 1
            if !events.isEmpty || to >= through || reads == 8 {
                return (events, to)
            }
            start = to + 1
            width = width.multipliedReportingOverflow(by: 8).overflow ? .max : width * 8
        }
    }

    /// Index of the first event to leave out so that the batch holds at most
    /// `maxEvents` events of whole revisions (at least one revision); nil if
    /// everything fits.
    static func revisionBoundary(_ events: [Event], maxEvents: Int) -> Int? {
        guard events.count > maxEvents else { return nil }
        // The revision that would be split by a cut at maxEvents.
        var cut = maxEvents
        let split = events[cut].kv.modRevision
        while cut > 0 && events[cut - 1].kv.modRevision == split { cut -= 1 }
        if cut == 0 {
            // The first revision alone exceeds maxEvents: send it whole.
            cut = maxEvents
            while cut < events.count && events[cut].kv.modRevision == split { cut += 1 }
            return cut < events.count ? cut : nil
        }
        return cut
    }

    /// Queues the compaction cancel for an unsynced watcher and removes it.
    mutating func cancelCompacted(_ handle: Handle, compactRevision: Int64) {
        guard let watcher = watchers[handle] else { return }
        let response = WatchResponse(
            watchID: watcher.id, headerRevision: currentRevision, canceled: true,
            compactRevision: compactRevision)
        withStream(watcher.stream) { state in
            state.watchers[watcher.id] = nil
            Self.enqueue(response, on: &state)
        }
        readyStreams.insert(watcher.stream)
        removeWatcher(handle)
    }
}
