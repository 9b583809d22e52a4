import NIOCore

/// Reads the JSON values of a streaming request body one at a time.
///
/// `@unchecked Sendable` because it changes hands once, never shared: the
/// endpoint reads the first request (to answer a malformed one before any
/// call starts, as grpc-gateway does), then gives the reader to the call's
/// request producer, which alone reads the rest.
final class GatewayBodyReader: @unchecked Sendable {
    private var chunks: AsyncStream<ByteBuffer>.AsyncIterator
    private var splitter = JSONValueSplitter()
    private var ready: [[UInt8]] = []
    private var ended = false

    init(_ body: AsyncStream<ByteBuffer>) {
        chunks = body.makeAsyncIterator()
    }

    /// The next JSON value, or nil once the body ended.
    func next() async -> [UInt8]? {
        while ready.isEmpty && !ended {
            if let chunk = await chunks.next() {
                ready += splitter.append(chunk.readableBytesView)
            } else {
                ended = true
                if let last = splitter.finish() { ready.append(last) }
            }
        }
        return ready.isEmpty ? nil : ready.removeFirst()
    }
}
