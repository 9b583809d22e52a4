/// A Raft node identifier. Matches etcd's 64-bit member IDs; `0` means "none".
public typealias NodeID = UInt64

extension NodeID {
    /// The reserved identifier meaning "no node" (no leader, no vote).
    public static let none: NodeID = 0
}
