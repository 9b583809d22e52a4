import Raft

/// Why an acceptor refused a peer connection. From the point of view of the side that reports
/// it: `ours` is the reporter's value, `theirs` the other member's.
public enum PeerRejection: Sendable, Hashable, CustomStringConvertible {
    /// The two members belong to different clusters, e.g. a stale data dir or a wrong flag.
    case clusterIDMismatch(ours: UInt64, theirs: UInt64)
    /// The dialer addressed a member ID that the acceptor does not have, usually an address
    /// list that is out of date after a member was replaced.
    case memberIDMismatch(expected: NodeID, actual: NodeID)
    /// The two sides speak different versions of the peer protocol.
    case unsupportedVersion(ours: UInt16, theirs: UInt16)

    public var description: String {
        switch self {
        case let .clusterIDMismatch(ours, theirs):
            "cluster ID mismatch (ours \(ours.hexID), theirs \(theirs.hexID))"
        case let .memberIDMismatch(expected, actual):
            "member ID mismatch (dialed \(expected.hexID), reached \(actual.hexID))"
        case let .unsupportedVersion(ours, theirs):
            "unsupported peer protocol version (ours \(ours), theirs \(theirs))"
        }
    }
}

extension UInt64 {
    /// Member and cluster IDs are logged in hex, as etcd does.
    var hexID: String { String(self, radix: 16) }
}
