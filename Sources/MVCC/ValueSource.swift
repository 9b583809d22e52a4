/// Where the store reads values it no longer keeps in memory.
///
/// etcd keeps only its key index in memory and reads every value from its
/// bolt database. This store keeps a value in memory from the write until
/// the server has committed it to its backend, then lets it go
/// (`KVStore.markPersisted(through:)`) and reads it from here when a range,
/// a compare, a `prevKv` or a watcher's catch-up needs it. So memory grows
/// with the number of keys, not with the size of their values (issue 7:
/// RSS with a million keys), and a store without a source keeps every value
/// in memory, as tests and in-memory members do.
///
/// Conforming types are called on the store owner's task only, with the
/// revisions of versions the store still retains; they read one consistent
/// view per call.
public protocol ValueSource: Sendable {
    /// The values written at `revisions`, in the same order. A version the
    /// source cannot find (a damaged backend) comes back empty: reads keep
    /// working, and the damage is the source's to report.
    func values(at revisions: [Revision]) -> [[UInt8]]
}
