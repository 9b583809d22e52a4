/// One message for the client of a watch stream: etcd's `WatchResponse` as a
/// plain value. The gRPC adapter adds the cluster/member/term header fields
/// and sends it as is.
///
/// Kinds of responses the hub produces:
/// - **created**: `created == true`, the watcher's ID; if the request was
///   refused also `canceled == true`, `watchID == -1` and `cancelReason`.
/// - **events**: `events` non-empty, all of whole revisions, in revision order.
/// - **canceled**: `canceled == true` after a cancel request, or with
///   `compactRevision > 0` when the watcher's start revision was compacted.
/// - **progress**: no events and no flags; `headerRevision` is a revision up
///   to which the watcher (or, with `watchID == -1`, every watcher on the
///   stream) has been sent every event.
public struct WatchResponse: Sendable, Hashable {
    /// The ID used for responses not tied to one watcher (etcd's
    /// `InvalidWatchID`): refused creates and stream-wide progress responses.
    public static let streamWatchID: WatchID = -1

    public var watchID: WatchID
    /// The revision for the response header.
    public var headerRevision: Int64
    public var created: Bool
    public var canceled: Bool
    /// Non-zero when the watcher was canceled because its start revision has
    /// been compacted: the compacted revision.
    public var compactRevision: Int64
    public var cancelReason: String
    /// More fragments of the same events response follow.
    public var fragment: Bool
    public var events: [Event]

    public init(
        watchID: WatchID, headerRevision: Int64, created: Bool = false, canceled: Bool = false,
        compactRevision: Int64 = 0, cancelReason: String = "", fragment: Bool = false,
        events: [Event] = []
    ) {
        self.watchID = watchID
        self.headerRevision = headerRevision
        self.created = created
        self.canceled = canceled
        self.compactRevision = compactRevision
        self.cancelReason = cancelReason
        self.fragment = fragment
        self.events = events
    }

    /// A progress notification: no events, not created, not canceled.
    public var isProgressNotify: Bool {
        events.isEmpty && !created && !canceled && compactRevision == 0 && !fragment
    }

    /// Approximate protobuf size of the response on the wire (exact for the
    /// events and flags; the header is counted at its maximum size).
    public var estimatedWireSize: Int {
        var size = Self.headerFieldMaxSize
        size += WatchWireSize.int64Field(watchID)
        size += created ? 2 : 0
        size += canceled ? 2 : 0
        size += WatchWireSize.int64Field(compactRevision)
        size += WatchWireSize.bytesField(cancelReason.utf8.count)
        size += fragment ? 2 : 0
        for event in events {
            size += WatchWireSize.bytesField(WatchWireSize.event(event), keepEmpty: true)
        }
        return size
    }

    /// `ResponseHeader` with four 10-byte varints, plus its tag and length.
    static let headerFieldMaxSize = 2 + 4 * 11
}

/// Protobuf size arithmetic for fragmenting (etcd fragments on `Size()`).
enum WatchWireSize {
    static func varint(_ value: UInt64) -> Int {
        var value = value
        var bytes = 1
        while value >= 0x80 {
            value >>= 7
            bytes += 1
        }
        return bytes
    }

    static func int64Field(_ value: Int64) -> Int {
        value == 0 ? 0 : 1 + varint(UInt64(bitPattern: value))
    }

    static func bytesField(_ length: Int, keepEmpty: Bool = false) -> Int {
        length == 0 && !keepEmpty ? 0 : 1 + varint(UInt64(length)) + length
    }

    static func keyValue(_ kv: KeyValue) -> Int {
        bytesField(kv.key.count) + int64Field(kv.createRevision) + int64Field(kv.modRevision)
            + int64Field(kv.version) + bytesField(kv.value.count) + int64Field(kv.lease)
    }

    static func event(_ event: Event) -> Int {
        var size = event.kind == .delete ? 2 : 0
        size += bytesField(keyValue(event.kv), keepEmpty: true)
        if let prev = event.prevKv {
            size += bytesField(keyValue(prev), keepEmpty: true)
        }
        return size
    }
}

extension WatchResponse {
    /// Splits an events response the way etcd's `sendFragments` does: a
    /// response smaller than `maxBytes`, or with fewer than two events, goes
    /// whole; otherwise events are packed greedily while the fragment stays
    /// under `maxBytes` (every fragment holds at least one event), and every
    /// fragment but the last has `fragment == true`.
    func fragmented(maxBytes: Int) -> [WatchResponse] {
        guard events.count >= 2, estimatedWireSize >= maxBytes else { return [self] }
        var shell = self
        shell.events = []
        shell.fragment = true
        let shellSize = shell.estimatedWireSize
        var fragments: [WatchResponse] = []
        var current = shell
        var currentSize = shellSize
        for event in events {
            let eventSize = WatchWireSize.bytesField(WatchWireSize.event(event), keepEmpty: true)
            if !current.events.isEmpty && currentSize + eventSize >= maxBytes {
                fragments.append(current)
                current = shell
                currentSize = shellSize
            }
            current.events.append(event)
            currentSize += eventSize
        }
        current.fragment = false
        fragments.append(current)
        return fragments
    }
}
