/// A membership change, proposed with `RaftNode.proposeConfChange` and carried in the log as the
/// payload of an `EntryType.confChange` entry. It takes effect when the caller applies it.
public struct ConfChange: Sendable, Hashable {
    public var type: ConfChangeType
    public var nodeID: NodeID
    /// Opaque to Raft; the server can use it for the member's peer URLs.
    public var context: [UInt8]

    public init(type: ConfChangeType, nodeID: NodeID, context: [UInt8] = []) {
        self.type = type
        self.nodeID = nodeID
        self.context = context
    }
}
