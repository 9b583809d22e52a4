import NIOCore

/// Rebuilds one chunked snapshot message on the receiving side of a connection.
///
/// A sender transmits one snapshot at a time per connection, in order, so the assembler needs
/// only the transfer in progress: a chunk at offset 0 starts a transfer (abandoning any partial
/// one, which a sender does only when it gave up on it), and every other chunk must continue
/// the current transfer exactly where the previous one ended.
struct SnapshotAssembler {
    let maxSnapshotSize: Int
    private var transferID: UInt64 = 0
    private var totalSize = 0
    private var bytes: [UInt8] = []
    private var inProgress = false

    init(maxSnapshotSize: Int) {
        self.maxSnapshotSize = maxSnapshotSize
    }

    /// Adds a chunk; returns the complete encoding once the last chunk arrived.
    mutating func add(_ chunk: SnapshotChunk) throws(PeerProtocolError) -> [UInt8]? {
        if chunk.offset == 0 {
            guard chunk.totalSize > 0, chunk.totalSize <= UInt64(maxSnapshotSize) else {
                throw .invalidSnapshotChunk("size \(chunk.totalSize) outside 1...\(maxSnapshotSize)")
            }
            transferID = chunk.transferID
            totalSize = Int(chunk.totalSize)
            bytes = []
            // Trust the announced size only up to one frame's worth; the rest grows as it arrives.
            bytes.reserveCapacity(min(totalSize, 64 << 20))
            inProgress = true
        } else {
            guard inProgress, chunk.transferID == transferID, chunk.totalSize == UInt64(totalSize),
                  chunk.offset == UInt64(bytes.count)
            else {
                throw .invalidSnapshotChunk(
                    "transfer \(chunk.transferID) offset \(chunk.offset) does not continue \(transferID) at \(bytes.count)")
            }
        }
        guard chunk.data.readableBytes > 0, chunk.data.readableBytes <= totalSize - bytes.count else {
            throw .invalidSnapshotChunk("\(chunk.data.readableBytes) bytes at offset \(chunk.offset) of \(totalSize)")
        }
        bytes.append(contentsOf: chunk.data.readableBytesView)
        guard bytes.count == totalSize else { return nil }
        inProgress = false
        defer { bytes = [] }
        return bytes
    }
}
