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

/// A compacted prefix of the log: the state machine image plus its position.
public struct Snapshot: Sendable, Hashable {
    /// The application's state machine image; opaque to Raft.
    public var data: [UInt8]
    public var metadata: SnapshotMetadata

    public init(data: [UInt8] = [], metadata: SnapshotMetadata = SnapshotMetadata()) {
        self.data = data
        self.metadata = metadata
    }

    public static let empty = Snapshot()

    /// A snapshot at index 0 stands for "no snapshot".
    public var isEmpty: Bool { metadata.index == 0 }
}
