/// A campaigner's claim in an election (etcd's `v3electionpb.LeaderKey`):
/// the key `name/<lease in hex>` it wrote, that key's create revision, and
/// the lease it is attached to. Proclaim and Resign act only while the key
/// still has this create revision, so a claim that lapsed (its lease
/// expired, or it resigned) cannot touch a newer campaigner's key.
public struct LeaderKey: Sendable, Hashable {
    /// The election's name (its keys are under `name/`).
    public var name: [UInt8]
    public var key: [UInt8]
    /// The key's create revision.
    public var revision: Int64
    public var lease: Int64

    public init(name: [UInt8], key: [UInt8], revision: Int64, lease: Int64) {
        self.name = name
        self.key = key
        self.revision = revision
        self.lease = lease
    }
}
