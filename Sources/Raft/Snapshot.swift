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
