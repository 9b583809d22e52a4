/// Identifier of one watcher, unique within its stream (etcd's `WatchID`).
///
/// Auto-assigned IDs start at 0 on every stream, as in etcd; a client may
/// choose its own positive ID (etcd 3.4's `WatchCreateRequest.watch_id`).
public typealias WatchID = Int64

/// Identifier of one watch stream: one bidirectional gRPC `Watch` call.
///
/// Streams are opened with `WatchHub.openStream()`; every watcher belongs to
/// exactly one stream and every response is queued on its watcher's stream.
public struct WatchStreamID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static func < (lhs: WatchStreamID, rhs: WatchStreamID) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String { "stream#\(rawValue)" }
}

/// Server-side event filters (etcd's `WatchCreateRequest.FilterType`).
public struct WatchFilters: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Drop put events (etcd `NOPUT`).
    public static let noPut = WatchFilters(rawValue: 1 << 0)
    /// Drop delete events (etcd `NODELETE`).
    public static let noDelete = WatchFilters(rawValue: 1 << 1)

    /// Whether `event` survives these filters.
    func admits(_ event: Event) -> Bool {
        switch event.kind {
        case .put: !contains(.noPut)
        case .delete: !contains(.noDelete)
        }
    }
}

/// A request to create one watcher: etcd's `WatchCreateRequest` as a plain
/// value, so that the gRPC adapter translates protobuf into it one-to-one.
public struct WatchCreateRequest: Sendable, Hashable {
    /// The watched keys, encoded as etcd does: `rangeEnd` empty is the single
    /// `key`; `[0]` is every key `>= key`; otherwise `[key, rangeEnd)`. An empty
    /// `key` means `[0]`, the smallest key (as etcd's v3rpc layer does).
    public var range: KeyRange
    /// First revision to deliver. 0 (or negative) means "from the next
    /// revision": the store's current revision + 1.
    public var startRevision: Int64
    /// Ask for periodic progress notifications (see `WatchHub.progressTick()`).
    public var progressNotify: Bool
    public var filters: WatchFilters
    /// Deliver each event's previous version; otherwise `Event.prevKv` is nil.
    public var prevKv: Bool
    /// Client-chosen ID; 0 or negative means "assign one" (etcd's
    /// `AutoWatchID` is 0; -1 is etcd's invalid ID and is also treated as auto).
    public var watchID: WatchID
    /// Split responses larger than `WatchHub.Configuration.maxResponseBytes`
    /// into fragments.
    public var fragment: Bool

    public init(
        range: KeyRange, startRevision: Int64 = 0, progressNotify: Bool = false,
        filters: WatchFilters = [], prevKv: Bool = false, watchID: WatchID = 0,
        fragment: Bool = false
    ) {
        self.range = range
        self.startRevision = startRevision
        self.progressNotify = progressNotify
        self.filters = filters
        self.prevKv = prevKv
        self.watchID = watchID
        self.fragment = fragment
    }
}

// MARK: - Key matching

/// A normalized watched range, precomputed for fast matching.
struct WatchKeyRange: Sendable, Hashable {
    enum Shape: Sendable, Hashable {
        case single
        case fromKey
        case range
    }

    let key: [UInt8]
    let rangeEnd: [UInt8]
    let shape: Shape

    /// Applies etcd's v3rpc normalization; nil for an empty range
    /// (`key >= rangeEnd`), which etcd rejects with `ErrEmptyWatcherRange`.
    init?(_ range: KeyRange) {
        let key = range.key.isEmpty ? [0] : range.key
        self.key = key
        self.rangeEnd = range.rangeEnd
        if range.rangeEnd.isEmpty {
            shape = .single
        } else if range.rangeEnd == [0] {
            shape = .fromKey
        } else {
            guard key.lexicographicallyPrecedes(range.rangeEnd) else { return nil }
            shape = .range
        }
    }

    /// The range as `EventHistory.events(in:from:to:)` expects it.
    var keyRange: KeyRange { KeyRange(key: key, rangeEnd: rangeEnd) }

    func contains(_ candidate: [UInt8]) -> Bool {
        switch shape {
        case .single:
            return candidate == key
        case .fromKey:
            return !candidate.lexicographicallyPrecedes(key)
        case .range:
            return !candidate.lexicographicallyPrecedes(key)
                && candidate.lexicographicallyPrecedes(rangeEnd)
        }
    }
}
