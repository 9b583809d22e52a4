/// What an entry's payload means to the state machine above Raft.
public enum EntryType: UInt8, Sendable, Hashable, CaseIterable {
    /// Opaque application data (an empty payload is a leader's no-op).
    case normal = 0
    /// An encoded `ConfChange`; the caller applies it with `RaftNode.applyConfChange`.
    case confChange = 1
}
