/// Why a watch request was refused. `reason` is etcd's text, which the hub
/// also puts in the `cancelReason` of the response it queues for the client.
public enum WatchError: Error, Sendable, Hashable {
    /// A client-chosen watch ID is already in use on the stream.
    case duplicateWatchID
    /// `key >= rangeEnd` with a non-empty, non-`[0]` `rangeEnd`.
    case emptyRange
    /// Cancel of an ID that is not (or no longer) a watcher on the stream.
    case watcherNotFound
    /// The stream was never opened or is already closed.
    case streamNotFound

    /// etcd's error text (`mvcc/watcher.go`).
    public var reason: String {
        switch self {
        case .duplicateWatchID: "mvcc: duplicate watch ID provided on the WatchStream"
        case .emptyRange: "mvcc: watcher range is empty"
        case .watcherNotFound: "mvcc: watcher does not exist"
        case .streamNotFound: "mvcc: watch stream does not exist"
        }
    }
}
