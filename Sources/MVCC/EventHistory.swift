/// Read access to the store's retained history, which the watch hub uses to
/// replay events to a watcher that starts in the past or fell behind.
public protocol EventHistory {
    /// The newest revision the store holds.
    var currentRevision: Int64 { get }
    /// The revision up to which history has been compacted (0 if never).
    var compactedRevision: Int64 { get }
    /// Every event on keys in `range` with `from <= revision <= to`, in
    /// revision order (sub-revision order inside one revision), each with its
    /// previous version in `prevKv` when one existed.
    /// Throws `MVCCError.compacted` if `from < compactedRevision` (as etcd,
    /// the compacted revision itself can still be watched from).
    func events(in range: KeyRange, from: Int64, to: Int64) throws(MVCCError) -> [Event]
}
