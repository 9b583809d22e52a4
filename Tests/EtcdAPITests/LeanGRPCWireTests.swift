import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import Testing

@testable import EtcdAPI

/// The lean gRPC server's byte-level pieces: the message decoder, the
/// `grpc-timeout` parser, `grpc-message` percent-encoding, ping strikes.
@Suite struct LeanGRPCWireTests {
    static func framed(_ payload: [UInt8], compressed: Bool = false) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(compressed ? 1 : 0))
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }

    @Test("A message split across DATA frames comes out once it is complete")
    func splitMessage() throws {
        var decoder = LengthPrefixedMessageDecoder(maxMessageBytes: 1024)
        let whole = Self.framed(Array(0..<10))
        // The prefix itself is split too.
        for (start, length) in [(0, 3), (3, 4), (7, 8)] {
            #expect(try decoder.next() == nil)
            decoder.append(whole.getSlice(at: start, length: length)!)
        }
        #expect(try decoder.next() == ByteBuffer(bytes: Array(0..<10)))
        #expect(try decoder.next() == nil)
        #expect(!decoder.hasPartialMessage)
    }

    @Test("Several messages in one frame, the last one split, and an empty message")
    func severalMessages() throws {
        var decoder = LengthPrefixedMessageDecoder(maxMessageBytes: 1024)
        var frame = Self.framed([1, 2, 3])
        frame.writeImmutableBuffer(Self.framed([]))
        var third = Self.framed([7, 8, 9, 10])
        frame.writeImmutableBuffer(third.readSlice(length: 6)!)
        decoder.append(frame)
        #expect(try decoder.next() == ByteBuffer(bytes: [1, 2, 3]))
        #expect(try decoder.next() == ByteBuffer())
        #expect(try decoder.next() == nil)
        #expect(decoder.hasPartialMessage)
        decoder.append(third)
        #expect(try decoder.next() == ByteBuffer(bytes: [7, 8, 9, 10]))
        #expect(try decoder.next() == nil)
    }

    @Test("A message over the limit is refused from its prefix, before its body arrives")
    func oversized() throws {
        var decoder = LengthPrefixedMessageDecoder(maxMessageBytes: 16)
        var prefix = ByteBuffer()
        prefix.writeInteger(UInt8(0))
        prefix.writeInteger(UInt32(17))
        decoder.append(prefix)
        #expect(throws: LengthPrefixedMessageDecoder.Failure.tooLarge(length: 17, limit: 16)) { try decoder.next() }
        var exact = LengthPrefixedMessageDecoder(maxMessageBytes: 16)
        exact.append(Self.framed(Array(repeating: 1, count: 16)))
        #expect(try exact.next()?.readableBytes == 16)
    }

    @Test("The compressed flag is refused (only identity is accepted)")
    func compressed() {
        var decoder = LengthPrefixedMessageDecoder(maxMessageBytes: 16)
        decoder.append(Self.framed([1], compressed: true))
        #expect(throws: LengthPrefixedMessageDecoder.Failure.compressed) { try decoder.next() }
    }

    @Test("grpc-timeout values, units and malformed ones")
    func timeouts() {
        #expect(GRPCWire.timeout("100m") == .milliseconds(100))
        #expect(GRPCWire.timeout("5S") == .seconds(5))
        #expect(GRPCWire.timeout("2M") == .minutes(2))
        #expect(GRPCWire.timeout("1H") == .hours(1))
        #expect(GRPCWire.timeout("7u") == .microseconds(7))
        #expect(GRPCWire.timeout("12345678n") == .nanoseconds(12_345_678))
        #expect(GRPCWire.timeout("99999999H") == nil)  // does not fit: no deadline
        #expect(GRPCWire.timeout("123456789S") == nil)  // nine digits
        #expect(GRPCWire.timeout("S") == nil)
        #expect(GRPCWire.timeout("10x") == nil)
        #expect(GRPCWire.timeout("1.5S") == nil)
        #expect(GRPCWire.timeout("") == nil)
    }

    @Test("grpc-message is percent-encoded as gRPC asks: non-ASCII, controls and %")
    func percentEncoding() {
        #expect(GRPCWire.percentEncoded("etcdserver: key not found") == "etcdserver: key not found")
        #expect(GRPCWire.percentEncoded("100% ✓") == "100%25 %E2%9C%93")
        #expect(GRPCWire.percentEncoded("a\nb\tc\u{7F}") == "a%0Ab%09c%7F")
        #expect(GRPCWire.percentEncoded("") == "")
    }

    @Test("A writer waits once more than its budget is in flight, and throws once its stream is gone")
    func writerBudget() async throws {
        let (submissions, submitted) = AsyncStream<Int>.makeStream()
        let writer = LeanResponseWriter(streamID: 1) { bytes, _ in submitted.yield(bytes.readableBytes) }
        var handed = submissions.makeAsyncIterator()
        let chunk = ByteBuffer(repeating: 0, count: LeanResponseWriter.budget / 2)
        try await writer.write(chunk)
        try await writer.write(chunk)  // exactly the budget in flight: no wait
        let waited = NIOLockedValueBox(false)
        let third = Task {
            try await writer.write(chunk)  // over it: waits for `written`
            waited.withLockedValue { $0 = true }
        }
        for _ in 0..<3 { _ = await handed.next() }
        #expect(!waited.withLockedValue { $0 })
        writer.written(chunk.readableBytes)
        try await within(.seconds(5)) { try await third.value }
        let fourth = Task { try await writer.write(chunk) }
        _ = await handed.next()
        writer.close()
        await #expect(throws: CancellationError.self) { try await within(.seconds(5)) { try await fourth.value } }
        await #expect(throws: CancellationError.self) { try await writer.write(chunk) }
    }

    @Test("Pings: every 5 s is fine, faster ones strike, data sent forgives")
    func pingPolicy() {
        let policy = PingPolicy(minInterval: .seconds(5))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(policy.receivedPing(at: start) == .fine)
        // Go clients' keep-alive: every 10 s, forever, with or without calls.
        for i in 1...100 {
            #expect(policy.receivedPing(at: start + .seconds(10 * Int64(i))) == .fine)
        }
        // BDP pings after each DATA frame NIOHTTP2Handler wrote (many per
        // large response): never strikes.
        let busy = PingPolicy(minInterval: .seconds(5))
        let data = HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [1])))))
        for i in 0..<1000 {
            busy.wroteFrame(data)
            #expect(busy.receivedPing(at: start + .milliseconds(Int64(i))) == .fine)
        }
        // A flood without data: two strikes are tolerated, the third is not;
        // a WINDOW_UPDATE is not data.
        let flood = PingPolicy(minInterval: .seconds(5))
        flood.wroteFrame(HTTP2Frame(streamID: 0, payload: .windowUpdate(windowSizeIncrement: 1)))
        #expect(flood.receivedPing(at: start) == .fine)
        #expect(flood.receivedPing(at: start + .seconds(1)) == .fine)
        #expect(flood.receivedPing(at: start + .seconds(2)) == .fine)
        #expect(flood.receivedPing(at: start + .seconds(3)) == .tooMany)
    }
}
