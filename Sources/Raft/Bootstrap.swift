/// The initial log of a brand-new cluster.
///
/// Membership lives in the log: each founding voter is added by a committed `.addNode` conf
/// change at term 1, indices `1...voters.count` (as etcd bootstraps). Every founding member
/// writes these entries and the hard state to its storage before its first start; a member
/// added later starts with empty storage and receives the same entries (or a snapshot that
/// covers them) from the leader, so every node derives the membership the same way, by
/// applying the log.
public enum Bootstrap {
    public static func entries(voters: [NodeID]) -> [Entry] {
        voters.sorted().enumerated().map { offset, id in
            Entry(term: 1, index: UInt64(offset) + 1, type: .confChange,
                  data: ConfChange(type: .addNode, nodeID: id).encoded())
        }
    }

    public static func hardState(voters: [NodeID]) -> HardState {
        HardState(term: 1, vote: .none, commit: UInt64(voters.count))
    }
}

extension MemoryStorage {
    /// A storage holding the bootstrap log of a new cluster with `voters`.
    public convenience init(bootstrapVoters voters: [NodeID]) {
        self.init()
        append(Bootstrap.entries(voters: voters))
        setHardState(Bootstrap.hardState(voters: voters))
    }
}
