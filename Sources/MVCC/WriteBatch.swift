/// The changes of one write request in progress (etcd's `storeTxnWrite`):
/// everything it writes gets main revision `main`, with sub-revisions in
/// write order. Nothing is visible as committed until the store adopts
/// `main` as its current revision.
struct WriteBatch: Sendable {
    /// One put or delete made by the batch.
    struct Change: Sendable {
        var key: [UInt8]
        var revision: Revision
        /// Lease of the key's version before the change (0: none).
        var leaseBefore: Int64
        /// Lease of the version the change wrote (0 for a delete).
        var leaseAfter: Int64
        /// The change as watchers see it, `prevKv` being the key's version
        /// at the revision before the batch.
        var event: Event
    }

    let main: Int64
    private(set) var changes: [Change] = []

    init(main: Int64) {
        self.main = main
    }

    /// The revision reads inside the batch see: the store's current one
    /// until the batch has written, then its own (read-your-writes).
    func readRevision(current: Int64) -> Int64 {
        changes.isEmpty ? current : main
    }

    /// Revision for the next change.
    var nextRevision: Revision {
        Revision(main: main, sub: Int64(changes.count))
    }

    mutating func record(_ change: Change) {
        changes.append(change)
    }
}
