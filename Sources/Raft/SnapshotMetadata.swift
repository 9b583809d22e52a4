/// Where a snapshot sits in the log and what the membership was at that point.
public struct SnapshotMetadata: Sendable, Hashable {
    /// Index of the last entry the snapshot covers.
    public var index: UInt64
    /// Term of that entry, needed for the log consistency check after the snapshot.
    public var term: UInt64
    public var confState: ConfState

    public init(index: UInt64 = 0, term: UInt64 = 0, confState: ConfState = ConfState()) {
        self.index = index
        self.term = term
        self.confState = confState
    }
}
