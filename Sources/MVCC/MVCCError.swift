/// Failures the store reports; the API layer maps each to etcd's gRPC status
/// code and text (`rpctypes`), given in the comments.
public enum MVCCError: Error, Sendable, Hashable {
    /// OutOfRange "etcdserver: mvcc: required revision has been compacted"
    case compacted
    /// OutOfRange "etcdserver: mvcc: required revision is a future revision"
    case futureRevision
    /// InvalidArgument "etcdserver: key not found" (ignore_value / ignore_lease on a missing key)
    case keyNotFound
    /// NotFound "etcdserver: requested lease not found"
    case leaseNotFound
    /// FailedPrecondition "etcdserver: lease already exists" (grant of an ID in use)
    case leaseExists
    /// OutOfRange "etcdserver: too large lease TTL" (TTL above `Lessor.maxTTL`)
    case leaseTTLTooLarge
}
