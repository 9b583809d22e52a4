import NIOConcurrencyHelpers
import NIOCore

/// The messages a streaming call (Watch, LeaseKeepAlive) receives, handed
/// from the connection's event loop to the call's task.
///
/// It is also the stream's inbound flow control: the event loop grants the
/// client more HTTP/2 window as bytes arrive, except while more than
/// `holdLimit` bytes of messages wait here unread. Then the grant is held
/// back until the reader has taken the backlog down to half the limit, and
/// `resumeCredit` tells the event loop so. A client that sends faster than
/// the call reads therefore stalls on its window instead of filling memory.
final class LeanRequestStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    /// Unread bytes above which the window is no longer reopened.
    static let holdLimit = 1 << 20

    private enum End {
        case finished
        case failed(any Error)
    }

    private struct State {
        var messages = CircularBuffer<ByteBuffer>()
        var bufferedBytes = 0
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        var end: End?
        /// The event loop holds the stream's window until told otherwise.
        var creditHeld = false
    }

    private enum Outcome {
        case message(ByteBuffer, resumeCredit: Bool)
        case ended(End)
        case wait
    }

    private let state = NIOLockedValueBox(State())
    private let resumeCredit: @Sendable () -> Void

    init(resumeCredit: @escaping @Sendable () -> Void) {
        self.resumeCredit = resumeCredit
    }

    // MARK: Event loop side

    /// Hands over one message; returns true when the backlog is now over the
    /// limit, i.e. the event loop must hold the stream's window (it is then
    /// told through `resumeCredit` when to reopen it).
    @discardableResult
    func yield(_ message: ByteBuffer) -> Bool {
        let (waiter, hold): (CheckedContinuation<ByteBuffer?, any Error>?, Bool) = state.withLockedValue { state in
            guard state.end == nil else { return (nil, false) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, false)
            }
            state.messages.append(message)
            state.bufferedBytes += message.readableBytes
            guard state.bufferedBytes > Self.holdLimit else { return (nil, false) }
            state.creditHeld = true
            return (nil, true)
        }
        waiter?.resume(returning: message)
        return hold
    }

    /// No more messages: the client half-closed (`nil`) or the call ended
    /// (an error, which the reader gets after the messages already in).
    func finish(throwing error: (any Error)? = nil) {
        let waiter: CheckedContinuation<ByteBuffer?, any Error>? = state.withLockedValue { state in
            guard state.end == nil else { return nil }
            state.end = error.map { .failed($0) } ?? .finished
            defer { state.waiter = nil }
            return state.waiter
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
    }

    // MARK: Call side

    func next() async throws -> ByteBuffer? {
        let outcome = state.withLockedValue { Self.take(from: &$0) }
        if case .wait = outcome {
            return try await withCheckedThrowingContinuation { continuation in
                // A message or the end may have come in meanwhile.
                let outcome: Outcome = state.withLockedValue { state in
                    let outcome = Self.take(from: &state)
                    if case .wait = outcome { state.waiter = continuation }
                    return outcome
                }
                switch outcome {
                case .wait: break
                case .message, .ended: continuation.resume(with: Result { try self.deliver(outcome) })
                }
            }
        }
        return try deliver(outcome)
    }

    private static func take(from state: inout State) -> Outcome {
        if let message = state.messages.popFirst() {
            state.bufferedBytes -= message.readableBytes
            let resume = state.creditHeld && state.bufferedBytes <= holdLimit / 2
            if resume { state.creditHeld = false }
            return .message(message, resumeCredit: resume)
        }
        if let end = state.end { return .ended(end) }
        return .wait
    }

    private func deliver(_ outcome: Outcome) throws -> ByteBuffer? {
        switch outcome {
        case .message(let message, let resume):
            if resume { resumeCredit() }
            return message
        case .ended(.finished), .wait:
            return nil
        case .ended(.failed(let error)):
            throw error
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let stream: LeanRequestStream
        mutating func next() async throws -> ByteBuffer? { try await stream.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}
