/// A point in the store's history (etcd's `revision`).
///
/// Every write request that changes something gets a new `main` revision;
/// the individual changes inside it (the puts and deletes of one
/// transaction) are ordered by `sub`, starting at 0. Clients only ever see
/// `main`: it is the number in response headers, `modRevision` and so on.
public struct Revision: Sendable, Hashable, Comparable {
    public var main: Int64
    public var sub: Int64

    public init(main: Int64, sub: Int64 = 0) {
        self.main = main
        self.sub = sub
    }

    public static func < (lhs: Revision, rhs: Revision) -> Bool {
        if lhs.main != rhs.main { return lhs.main < rhs.main }
        return lhs.sub < rhs.sub
    }
}
