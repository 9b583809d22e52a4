import Raft

/// The first frame a dialer sends on each connection: who it is, whom it wants, and which
/// cluster it belongs to. Checking these up front keeps a misconfigured member from ever
/// injecting messages into another cluster's log.
struct PeerHello: Sendable, Hashable {
    static let magic: [UInt8] = Array("SETCDPEER".utf8)
    /// Bumped on any incompatible change to frames after the handshake.
    static let protocolVersion: UInt16 = 1

    var version: UInt16 = PeerHello.protocolVersion
    var clusterID: UInt64
    var from: NodeID
    var to: NodeID
}

/// The acceptor's answer. It carries the acceptor's own cluster and member IDs so that a
/// refused dialer can log both sides of the mismatch.
struct PeerHelloReply: Sendable, Hashable {
    enum Status: UInt8, Sendable {
        case accepted = 0
        case clusterIDMismatch = 1
        case memberIDMismatch = 2
        case unsupportedVersion = 3
    }

    var version: UInt16 = PeerHello.protocolVersion
    var status: Status
    var clusterID: UInt64
    var memberID: NodeID

    /// The acceptor's verdict on a hello, given its own identity.
    init(answering hello: PeerHello, clusterID: UInt64, memberID: NodeID) {
        self.clusterID = clusterID
        self.memberID = memberID
        if hello.version != PeerHello.protocolVersion {
            status = .unsupportedVersion
        } else if hello.clusterID != clusterID {
            status = .clusterIDMismatch
        } else if hello.to != memberID {
            status = .memberIDMismatch
        } else {
            status = .accepted
        }
    }

    init(version: UInt16, status: Status, clusterID: UInt64, memberID: NodeID) {
        self.version = version
        self.status = status
        self.clusterID = clusterID
        self.memberID = memberID
    }

    /// The refusal as the dialer reports it (`ours` = the dialer's values), or nil if accepted.
    func rejection(dialerClusterID: UInt64, dialedMember: NodeID) -> PeerRejection? {
        switch status {
        case .accepted: nil
        case .clusterIDMismatch: .clusterIDMismatch(ours: dialerClusterID, theirs: clusterID)
        case .memberIDMismatch: .memberIDMismatch(expected: dialedMember, actual: memberID)
        case .unsupportedVersion: .unsupportedVersion(ours: PeerHello.protocolVersion, theirs: version)
        }
    }
}
