import Crypto
import Storage

/// One message of etcd's Snapshot stream: a piece of the database file and
/// how many bytes of the file follow it. The last chunk is the file's
/// SHA-256 (32 bytes) with `remainingBytes` 0, as etcd sends it; `etcdctl
/// snapshot save` refuses a stream whose length is not `n × 512 + 32`.
public struct DatabaseSnapshotChunk: Sendable, Equatable {
    public var blob: [UInt8]
    public var remainingBytes: UInt64
}

/// A database snapshot ready to send: the bbolt file, built in a temporary
/// file whose name is already gone (a crash leaves nothing behind), read
/// in 32 KiB chunks (etcd's `snapshotSendBufferSize`) and hashed as it
/// goes. Iterate it once; the file is closed when the stream is released.
///
/// `@unchecked Sendable`: the file handle is used by the one task that
/// iterates the stream (the gRPC handler), never concurrently.
public final class SnapshotStream: AsyncSequence, @unchecked Sendable {
    public typealias Element = DatabaseSnapshotChunk

    /// The database's size in bytes, without the SHA-256 trailer.
    public let size: Int
    private let file: any DurableFile
    static let chunkSize = 32 * 1024

    init(file: any DurableFile, size: Int) {
        self.file = file
        self.size = size
    }

    deinit { file.close() }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: SnapshotStream
        var offset = 0
        var hasher = SHA256()
        var digestSent = false

        public mutating func next() async throws -> DatabaseSnapshotChunk? {
            if offset < stream.size {
                let count = Swift.min(SnapshotStream.chunkSize, stream.size - offset)
                let blob = try stream.file.read(at: offset, count: count)
                guard blob.count == count else {
                    throw BoltError.truncated(
                        path: stream.file.path, expectedBytes: offset + count, actualBytes: offset + blob.count)
                }
                offset += count
                hasher.update(data: blob)
                return DatabaseSnapshotChunk(blob: blob, remainingBytes: UInt64(stream.size - offset))
            }
            guard !digestSent else { return nil }
            digestSent = true
            return DatabaseSnapshotChunk(blob: Array(hasher.finalize()), remainingBytes: 0)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}
