import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2

/// How a streaming call's task sends messages on its HTTP/2 stream: each
/// write hops to the connection's event loop, which sends it as one DATA
/// frame (the bytes may hold several length-prefixed messages: a watch
/// batch goes out in one write and one flush).
///
/// Writes do not wait for the network while less than `budget` bytes are
/// on their way; beyond that the writer waits until NIO has handed enough
/// to the socket. Bytes wait in NIO's HTTP/2 buffer when the client's
/// window is closed, so a client that stops reading stops its watch sender
/// here rather than growing that buffer (the hub then keeps its backlog,
/// bounded, as it does for any slow stream).
final class LeanResponseWriter: Sendable {
    /// Bytes written and not yet on the socket before `write` waits.
    static let budget = 256 * 1024

    private struct State {
        var pending = 0
        var waiter: CheckedContinuation<Void, any Error>?
        var closed = false
    }

    let streamID: HTTP2StreamID
    private let submit: @Sendable (ByteBuffer, LeanResponseWriter) -> Void
    private let state = NIOLockedValueBox(State())

    /// `submit` hands the bytes to the event loop; it must eventually call
    /// `written` with their size (or `close`).
    init(streamID: HTTP2StreamID, submit: @escaping @Sendable (ByteBuffer, LeanResponseWriter) -> Void) {
        self.streamID = streamID
        self.submit = submit
    }

    /// Sends `framed` (one or more length-prefixed messages). Throws
    /// `CancellationError` once the stream is gone.
    func write(_ framed: ByteBuffer) async throws {
        let size = framed.readableBytes
        let overBudget: Bool = try state.withLockedValue { state in
            guard !state.closed else { throw CancellationError() }
            state.pending += size
            return state.pending > Self.budget
        }
        submit(framed, self)
        guard overBudget else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = state.withLockedValue { state in
                if state.closed { return .failure(CancellationError()) }
                if state.pending <= Self.budget { return .success(()) }
                state.waiter = continuation
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    // MARK: Event loop side

    /// `size` bytes of earlier writes left NIO's buffers (or were dropped).
    func written(_ size: Int) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLockedValue { state in
            state.pending -= size
            guard state.pending <= Self.budget, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// The stream is gone: a waiting write and any later one throw.
    func close() {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLockedValue { state in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: CancellationError())
    }
}
