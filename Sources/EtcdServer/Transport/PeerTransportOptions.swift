import NIOCore

/// Tuning knobs. The defaults suit a LAN cluster; tests shrink them to exercise the edges.
public struct PeerTransportOptions: Sendable {
    /// Messages waiting for one peer's connection, beyond which new ones are dropped. Raft
    /// retransmits, so dropping under overload is safe; buffering without bound is not.
    public var maxQueuedMessages = 4096
    /// The same bound in encoded bytes, so a queue of large appends cannot exhaust memory.
    public var maxQueuedBytes = 64 << 20
    /// Snapshots waiting behind the one being sent to a peer; more fail immediately.
    public var maxQueuedSnapshots = 1
    /// Largest frame accepted or sent. Larger regular messages are dropped at the sender; a
    /// larger length prefix on the wire closes the connection.
    public var maxFrameSize = 64 << 20
    /// `MsgSnap` encodings above this travel as chunks of this size, with regular messages to
    /// the same peer interleaved between chunks.
    public var snapshotChunkSize = 1 << 20
    /// Largest reassembled snapshot a receiver accepts.
    public var maxSnapshotSize = 4 << 30
    /// How long a TCP connect may take before the attempt counts as failed.
    public var dialTimeout: TimeAmount = .seconds(1)
    /// How long either side waits for the other's handshake frame.
    public var handshakeTimeout: TimeAmount = .seconds(5)
    /// First reconnect delay; doubles per failure up to `maxBackoff`.
    public var initialBackoff: TimeAmount = .milliseconds(100)
    public var maxBackoff: TimeAmount = .seconds(2)
    /// Seed for the reconnect jitter (mixed with each peer's ID).
    public var backoffSeed: UInt64 = 0x5E7C_D0E5
    /// Dropped messages are reported as `.unreachable` at most this often per peer; a lost
    /// connection is always reported.
    public var unreachableReportInterval: TimeAmount = .milliseconds(100)
    /// Received messages buffered for the server before newer ones are dropped.
    public var incomingBufferLimit = 1 << 16

    public init() {}
}
