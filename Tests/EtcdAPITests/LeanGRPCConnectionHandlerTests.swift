import GRPCCore
import Logging
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import EtcdAPI

/// `LeanGRPCConnectionHandler` driven frame by frame: HTTP/2 frames in
/// (as NIOHTTP2Handler passes them on), frames out, with test methods
/// whose tasks report what happened to them.
@Suite struct LeanGRPCConnectionHandlerTests {
    /// What the test methods' tasks report.
    enum Event: Equatable, Sendable { case started, cancelled }

    /// A connection to a handler serving `test.Echo`:
    /// - `Unary` answers its request bytes back,
    /// - `Slow` waits until cancelled,
    /// - `Fail` throws an RPCError with a message that needs encoding,
    /// - `Bidi` answers each message back and ends when the client does.
    struct Harness {
        let channel: NIOAsyncTestingChannel
        let events: AsyncStream<Event>
        /// Lets `Hold` start reading.
        let release: AsyncStream<Void>.Continuation

        init(maxMessageBytes: Int = 1024, streamWindow: Int = 1 << 20) async throws {
            let (events, continuation) = AsyncStream<Event>.makeStream()
            self.events = events
            var table = LeanRPCMethodTable()
            table.register(Self.descriptor("Unary", .unary), .unary { bytes in
                var framed = ByteBuffer()
                framed.writeInteger(UInt8(0))
                framed.writeInteger(UInt32(bytes.readableBytes))
                framed.writeImmutableBuffer(bytes)
                return framed
            })
            table.register(Self.descriptor("Slow", .unary), .unary { _ in
                continuation.yield(.started)
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    continuation.yield(.cancelled)
                    throw error
                }
                return ByteBuffer()
            })
            table.register(Self.descriptor("Fail", .unary), .unary { _ in
                throw RPCError(code: .failedPrecondition, message: "100% ✓")
            })
            // Reads nothing until told to (`release`), then counts what came.
            let (gate, opener) = AsyncStream<Void>.makeStream()
            release = opener
            table.register(Self.descriptor("Hold", .bidirectionalStreaming), .streaming { requests, writer in
                continuation.yield(.started)
                for await _ in gate { break }
                var count = 0
                for try await _ in requests { count += 1 }
                var framed = ByteBuffer()
                framed.writeInteger(UInt8(0))
                framed.writeInteger(UInt32(4))
                framed.writeInteger(UInt32(count))
                try await writer.write(framed)
            })
            table.register(Self.descriptor("Bidi", .bidirectionalStreaming), .streaming { requests, writer in
                for try await message in requests {
                    var framed = ByteBuffer()
                    framed.writeInteger(UInt8(0))
                    framed.writeInteger(UInt32(message.readableBytes))
                    framed.writeImmutableBuffer(message)
                    try await writer.write(framed)
                }
            })
            var configuration = LeanGRPCConnectionHandler.Configuration(maxMessageBytes: maxMessageBytes)
            configuration.streamWindow = streamWindow
            channel = NIOAsyncTestingChannel()
            try await channel.testingEventLoop.executeInContext { [channel, table, configuration] in
                try channel.pipeline.syncOperations.addHandler(
                    LeanGRPCConnectionHandler(
                        methods: table, configuration: configuration,
                        pings: PingPolicy(minInterval: configuration.minPingInterval), logger: Logger(label: "test")))
            }
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2379))
            // The connection window is opened at once.
            let first = try await next()
            #expect(first.streamID == .rootStream)
            guard case .windowUpdate(let increment) = first.payload else {
                Issue.record("expected WINDOW_UPDATE, got \(first.payload)")
                return
            }
            #expect(increment == configuration.connectionWindow - 65_535)
        }

        static func descriptor(_ method: String, _ type: MethodDescriptor.RPCType) -> MethodDescriptor {
            MethodDescriptor(service: ServiceDescriptor(fullyQualifiedService: "test.Echo"), method: method, type: type)
        }

        func request(_ stream: Int, path: String, timeout: String? = nil, endStream: Bool = false) async throws {
            var headers: HPACKHeaders = [
                ":method": "POST", ":scheme": "http", ":path": path, ":authority": "localhost",
                "content-type": "application/grpc", "te": "trailers",
            ]
            if let timeout { headers.add(name: "grpc-timeout", value: timeout) }
            try await send(stream, .headers(.init(headers: headers, endStream: endStream)))
        }

        func data(_ stream: Int, _ bytes: ByteBuffer, endStream: Bool = false) async throws {
            try await send(stream, .data(.init(data: .byteBuffer(bytes), endStream: endStream)))
        }

        func send(_ stream: Int, _ payload: HTTP2Frame.FramePayload) async throws {
            try await channel.writeInbound(HTTP2Frame(streamID: HTTP2StreamID(stream), payload: payload))
        }

        /// The next frame written, within 5 s.
        func next() async throws -> HTTP2Frame {
            try await within(.seconds(5)) { try await channel.waitForOutboundWrite(as: HTTP2Frame.self) }
        }

        /// The next event reported by a test method, within 5 s.
        func nextEvent() async throws -> Event? {
            try await within(.seconds(5)) {
                var iterator = events.makeAsyncIterator()
                return await iterator.next()
            }
        }
    }

    static func framed(_ payload: [UInt8]) -> ByteBuffer {
        LeanGRPCWireTests.framed(payload)
    }

    /// The headers of a HEADERS frame, and its END_STREAM.
    static func headers(_ frame: HTTP2Frame) -> (HPACKHeaders, Bool)? {
        guard case .headers(let headers) = frame.payload else { return nil }
        return (headers.headers, headers.endStream)
    }

    static func data(_ frame: HTTP2Frame) -> ByteBuffer? {
        guard case .data(let data) = frame.payload, case .byteBuffer(let bytes) = data.data else { return nil }
        return bytes
    }

    @Test("A unary request split across DATA frames: head, message and trailers")
    func unarySplit() async throws {
        let h = try await Harness()
        try await h.request(1, path: "/test.Echo/Unary")
        let whole = Self.framed(Array(0..<10))
        try await h.data(1, whole.getSlice(at: 0, length: 2)!)
        try await h.data(1, whole.getSlice(at: 2, length: 6)!)
        try await h.data(1, whole.getSlice(at: 8, length: 7)!, endStream: true)
        let head = try #require(Self.headers(try await h.next()))
        #expect(head.0.first(name: ":status") == "200")
        #expect(head.0.first(name: "content-type") == "application/grpc")
        #expect(!head.1)
        #expect(Self.data(try await h.next()) == whole)
        let trailers = try #require(Self.headers(try await h.next()))
        #expect(trailers.0.first(name: "grpc-status") == "0")
        #expect(trailers.1)
    }

    @Test("Several messages in one DATA frame reach a streaming call in order")
    func severalMessagesInOneFrame() async throws {
        let h = try await Harness()
        try await h.request(3, path: "/test.Echo/Bidi")
        let head = try #require(Self.headers(try await h.next()))
        #expect(head.0.first(name: ":status") == "200")
        var frame = Self.framed([1])
        frame.writeImmutableBuffer(Self.framed([2, 2]))
        frame.writeImmutableBuffer(Self.framed([3, 3, 3]))
        try await h.data(3, frame, endStream: true)
        for payload in [[UInt8]([1]), [2, 2], [3, 3, 3]] {
            #expect(Self.data(try await h.next()) == Self.framed(payload))
        }
        let trailers = try #require(Self.headers(try await h.next()))
        #expect(trailers.0.first(name: "grpc-status") == "0")
        #expect(trailers.1)
    }

    @Test("A message over the limit: RESOURCE_EXHAUSTED, as grpc-go answers")
    func oversizedMessage() async throws {
        let h = try await Harness(maxMessageBytes: 16)
        try await h.request(1, path: "/test.Echo/Unary")
        try await h.data(1, Self.framed(Array(repeating: 0, count: 17)), endStream: true)
        let response = try #require(Self.headers(try await h.next()))
        #expect(response.0.first(name: ":status") == "200")
        #expect(response.0.first(name: "grpc-status") == "8")
        #expect(response.0.first(name: "grpc-message") == "grpc: received message larger than max (17 vs. 16)")
        #expect(response.1)
    }

    @Test("The client resets the stream mid-call: the call's task is cancelled, nothing is written")
    func resetMidCall() async throws {
        let h = try await Harness()
        try await h.request(5, path: "/test.Echo/Slow")
        try await h.data(5, Self.framed([1]), endStream: true)
        #expect(try await h.nextEvent() == .started)
        h.channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: 5, reason: .cancel))
        #expect(try await h.nextEvent() == .cancelled)
        // The next call on the connection is answered; nothing came for stream 5 before it.
        try await h.request(7, path: "/test.Echo/Unary")
        try await h.data(7, Self.framed([9]), endStream: true)
        #expect(try await h.next().streamID == 7)
    }

    @Test("An unknown method: UNIMPLEMENTED, trailers only")
    func unknownMethod() async throws {
        let h = try await Harness()
        try await h.request(1, path: "/etcdserverpb.Nope/Nothing", endStream: false)
        let response = try #require(Self.headers(try await h.next()))
        #expect(response.0.first(name: "grpc-status") == "12")
        #expect(response.0.first(name: "grpc-message") == "Requested RPC isn't implemented by this server.")
        #expect(response.1)
    }

    @Test("grpc-timeout passes: DEADLINE_EXCEEDED and the call is cancelled")
    func deadlineExpiry() async throws {
        let h = try await Harness()
        try await h.request(1, path: "/test.Echo/Slow", timeout: "100m")
        try await h.data(1, Self.framed([1]), endStream: true)
        #expect(try await h.nextEvent() == .started)
        await h.channel.testingEventLoop.advanceTime(by: .milliseconds(99))
        // A call finishing first is not disturbed by the timer.
        try await h.request(3, path: "/test.Echo/Unary", timeout: "50m")
        try await h.data(3, Self.framed([3]), endStream: true)
        for _ in 0..<3 { #expect(try await h.next().streamID == 3) }
        await h.channel.testingEventLoop.advanceTime(by: .milliseconds(2))
        let response = try #require(Self.headers(try await h.next()))
        #expect(response.0.first(name: "grpc-status") == "4")
        #expect(response.1)
        #expect(try await h.nextEvent() == .cancelled)
    }

    @Test("grpc-message is percent-encoded")
    func percentEncodedMessage() async throws {
        let h = try await Harness()
        try await h.request(1, path: "/test.Echo/Fail")
        try await h.data(1, Self.framed([]), endStream: true)
        let response = try #require(Self.headers(try await h.next()))
        #expect(response.0.first(name: "grpc-status") == "9")
        #expect(response.0.first(name: "grpc-message") == "100%25 %E2%9C%93")
    }

    @Test("Not gRPC: 415 for another content type; compression other than identity: UNIMPLEMENTED")
    func rejections() {
        var json: HPACKHeaders = [":method": "POST", ":path": "/test.Echo/Unary", "content-type": "application/json"]
        #expect(LeanGRPCConnectionHandler.rejection(of: json)?.first(name: ":status") == "415")
        json.replaceOrAdd(name: "content-type", value: "application/grpc+proto")
        #expect(LeanGRPCConnectionHandler.rejection(of: json) == nil)
        json.add(name: "grpc-encoding", value: "gzip")
        #expect(LeanGRPCConnectionHandler.rejection(of: json)?.first(name: "grpc-status") == "12")
        #expect(!LeanGRPCConnectionHandler.isGRPCContentType("application/grpcx"))
        #expect(LeanGRPCConnectionHandler.isGRPCContentType("application/grpc;charset=utf-8"))
    }

    @Test("Stream window is given back as a long request comes in")
    func streamWindow() async throws {
        let h = try await Harness(maxMessageBytes: 1 << 20, streamWindow: 64 * 1024)
        try await h.request(1, path: "/test.Echo/Unary")
        let message = Self.framed(Array(repeating: 7, count: 40 * 1024))
        try await h.data(1, message.getSlice(at: 0, length: 16 * 1024)!)
        try await h.data(1, message.getSlice(at: 16 * 1024, length: 16 * 1024)!)
        let update = try await h.next()
        #expect(update.streamID == 1)
        guard case .windowUpdate(let increment) = update.payload else {
            Issue.record("expected WINDOW_UPDATE, got \(update.payload)")
            return
        }
        #expect(increment == 32 * 1024)
        try await h.data(1, message.getSlice(at: 32 * 1024, length: message.readableBytes - 32 * 1024)!, endStream: true)
        #expect(Self.headers(try await h.next())?.0.first(name: ":status") == "200")
        #expect(Self.data(try await h.next()) == message)
    }

    @Test("A streaming call that does not read holds the client's window; reading gives it back")
    func backlogHoldsWindow() async throws {
        let h = try await Harness(maxMessageBytes: 1 << 20, streamWindow: 1 << 20)
        try await h.request(1, path: "/test.Echo/Hold")
        #expect(Self.headers(try await h.next())?.0.first(name: ":status") == "200")
        #expect(try await h.nextEvent() == .started)
        // 24 frames of 64 KiB, one message each: window comes back 512 KiB
        // at a time while the unread backlog is within its 1 MiB limit (16
        // messages), then is held.
        let message = Self.framed(Array(repeating: 1, count: 64 * 1024 - 5))
        for _ in 0..<24 { try await h.data(1, message) }
        for _ in 0..<2 {
            let update = try await h.next()
            guard case .windowUpdate(let returned) = update.payload else {
                Issue.record("expected WINDOW_UPDATE, got \(update.payload)")
                return
            }
            #expect(update.streamID == 1 && returned == 512 * 1024)
        }
        await h.channel.testingEventLoop.run()
        #expect(try await h.channel.readOutbound(as: HTTP2Frame.self) == nil, "window given back while the backlog is long")
        // The reader catches up: what was held comes back at once.
        h.release.yield()
        let resumed = try await h.next()
        guard case .windowUpdate(let released) = resumed.payload else {
            Issue.record("expected WINDOW_UPDATE, got \(resumed.payload)")
            return
        }
        #expect(resumed.streamID == 1 && released == 512 * 1024)
        try await h.data(1, ByteBuffer(), endStream: true)
        var count = try #require(Self.data(try await h.next()))
        count.moveReaderIndex(forwardBy: 5)
        #expect(count.readInteger(as: UInt32.self) == 24)
    }

    @Test("Shutdown: GOAWAY, then the connection closes")
    func quiesce() async throws {
        let h = try await Harness()
        h.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        let goAway = try await h.next()
        guard case .goAway(_, let code, _) = goAway.payload else {
            Issue.record("expected GOAWAY, got \(goAway.payload)")
            return
        }
        #expect(code == .noError)
        try await within(.seconds(5)) { try await h.channel.closeFuture.get() }
    }
}

struct TimedOut: Error {}

/// Runs `body`, failing with `TimedOut` after `limit`.
func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimedOut() }
        return first
    }
}
