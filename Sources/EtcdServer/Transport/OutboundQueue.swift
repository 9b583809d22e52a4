import NIOCore

/// One peer's messages waiting for its connection, in two lanes.
///
/// Regular messages (heartbeats, appends, votes, responses) are kept as ready-to-write frames
/// and bounded by count and bytes. Snapshots wait in their own short lane and are written a
/// chunk at a time only when the regular lane is empty, so a large snapshot delays a
/// heartbeat by at most one chunk.
struct OutboundQueue {
    private(set) var messages = CircularBuffer<ByteBuffer>()
    private(set) var queuedBytes = 0
    private(set) var snapshots = CircularBuffer<OutgoingSnapshot>()

    var hasMessages: Bool { !messages.isEmpty }
    var hasSnapshot: Bool { !snapshots.isEmpty }

    /// Queues a framed message unless either bound would be exceeded.
    mutating func appendMessage(_ frame: ByteBuffer, maxMessages: Int, maxBytes: Int) -> Bool {
        let size = frame.readableBytes
        guard messages.count < maxMessages, queuedBytes + size <= maxBytes else { return false }
        messages.append(frame)
        queuedBytes += size
        return true
    }

    mutating func popMessage() -> ByteBuffer? {
        guard let frame = messages.popFirst() else { return nil }
        queuedBytes -= frame.readableBytes
        return frame
    }

    /// Queues a snapshot unless `limit` snapshots (including one in flight) are already waiting.
    mutating func appendSnapshot(_ snapshot: OutgoingSnapshot, limit: Int) -> Bool {
        guard snapshots.count < limit else { return false }
        snapshots.append(snapshot)
        return true
    }

    /// The next frame of the snapshot at the head of its lane. When that frame completes the
    /// snapshot, the snapshot leaves the queue and is returned alongside it.
    mutating func nextSnapshotFrame(
        chunkSize: Int, allocator: ByteBufferAllocator
    ) -> (frame: ByteBuffer, finished: OutgoingSnapshot?)? {
        guard var head = snapshots.popFirst() else { return nil }
        let frame = head.nextFrame(chunkSize: chunkSize, allocator: allocator)
        if head.isComplete { return (frame, head) }
        snapshots.prepend(head)
        return (frame, nil)
    }

    /// Empties both lanes; returns how many messages and which snapshots were discarded.
    mutating func removeAll() -> (messages: Int, snapshots: [OutgoingSnapshot]) {
        let dropped = (messages.count, Array(snapshots))
        messages.removeAll()
        snapshots.removeAll()
        queuedBytes = 0
        return dropped
    }
}

/// A `MsgSnap` on its way out. Small ones go as one ordinary message frame; larger ones as a
/// run of `snapshotChunk` frames that the receiver reassembles.
struct OutgoingSnapshot {
    let transferID: UInt64
    /// The whole message's `BinaryCodable` encoding.
    let encoding: ByteBuffer
    private(set) var offset = 0

    init(transferID: UInt64, encoding: ByteBuffer) {
        self.transferID = transferID
        self.encoding = encoding
    }

    var isComplete: Bool { offset >= encoding.readableBytes }
    var hasStarted: Bool { offset > 0 }

    mutating func nextFrame(chunkSize: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        let total = encoding.readableBytes
        if offset == 0 && total <= chunkSize {
            offset = total
            return PeerFrame.message(encoding).encoded(allocator: allocator)
        }
        let length = min(max(chunkSize, 1), total - offset)
        let data = encoding.getSlice(at: encoding.readerIndex + offset, length: length) ?? ByteBuffer()
        let chunk = SnapshotChunk(
            transferID: transferID, totalSize: UInt64(total), offset: UInt64(offset), data: data)
        offset += length
        return PeerFrame.snapshotChunk(chunk).encoded(allocator: allocator)
    }
}
