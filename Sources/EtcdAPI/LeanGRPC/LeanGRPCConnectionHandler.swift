import EtcdServer
import GRPCCore
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Serves gRPC on one HTTP/2 connection without a channel per stream.
///
/// It sits behind swift-nio-http2's `NIOHTTP2Handler` (installed without a
/// stream multiplexer, so frames arrive here tagged with their stream ID)
/// and keeps a small record per stream: the method, the caller's
/// credentials, the deadline, a message decoder. A unary call starts one
/// task when its request message is complete; the task calls the service
/// and hops back to the event loop once, where the response head, the
/// message and the trailers are written with one flush. A streaming call
/// (Watch, LeaseKeepAlive) runs one task that reads a `LeanRequestStream`
/// and writes through a `LeanResponseWriter`.
///
/// Because no stream channel exists, this handler also does what those did:
/// it returns HTTP/2 window to the client as it takes bytes in (per stream,
/// and for the connection), cancels a call whose stream the client resets
/// or whose `grpc-timeout` passes (one timer per connection, armed for the
/// earliest deadline, not one per call), answers keep-alive policy as
/// grpc-swift's server did (pings are fine every 5 s with or without calls,
/// and any time after we sent data), and on `ChannelShouldQuiesceEvent`
/// sends GOAWAY and closes once the calls in flight are done.
final class LeanGRPCConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    struct Configuration: Sendable {
        /// Largest request message (`ClientServer.maxMessageBytes`).
        var maxMessageBytes: Int
        /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: the most a client
        /// sends on one stream before we return window.
        var streamWindow = 1 << 20
        /// The connection window we keep open for the client.
        var connectionWindow = 8 << 20
        /// Pings closer together than this, with no data sent by us in
        /// between, are strikes (grpc-swift's `minPingIntervalWithoutCalls`).
        var minPingInterval: TimeAmount = .seconds(5)
        /// After GOAWAY, how long calls in flight (watches never end by
        /// themselves) may go on before the connection is closed.
        var shutdownGrace: TimeAmount = .seconds(1)
        /// With `--client-cert-auth`: the common name of the verified client
        /// certificate of the connection from this address.
        var commonName: (@Sendable (SocketAddress?) -> String?)?

        init(maxMessageBytes: Int) {
            self.maxMessageBytes = maxMessageBytes
        }

        /// The settings NIOHTTP2Handler sends in its preface.
        var http2Settings: HTTP2Settings {
            [
                HTTP2Setting(parameter: .maxConcurrentStreams, value: 4096),
                HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
                HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
            ]
        }
    }

    private let methods: LeanRPCMethodTable
    private let configuration: Configuration
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: CallStream] = [:]
    /// The highest stream the client opened (GOAWAY names it).
    private var lastStreamID = HTTP2StreamID.rootStream
    /// Shared with NIOHTTP2Handler, which tells it what it writes.
    private let pings: PingPolicy
    private var deadlineTimer: (deadline: NIODeadline, task: Scheduled<Void>)?
    private var flushScheduled = false
    private var quiescing = false
    /// Looked up once the first call needs it (the TLS handshake has ended
    /// by then: HTTP/2 bytes follow it).
    private var commonName: String?

    init(methods: LeanRPCMethodTable, configuration: Configuration, pings: PingPolicy, logger: Logger) {
        self.methods = methods
        self.configuration = configuration
        self.pings = pings
        self.logger = logger
    }

    // MARK: Per-stream state

    private struct CallStream {
        let method: LeanRPCMethodTable.Method
        var decoder: LengthPrefixedMessageDecoder
        let credentials: RequestCredentials?
        let deadline: NIODeadline?
        var phase: Phase
        /// The client sent END_STREAM.
        var inboundClosed = false
        var headersSent = false
        /// Bytes received and not yet given back as stream window.
        var unreturnedWindow = 0
        /// Window is not given back while a streaming call's backlog is long.
        var windowHeld = false

        enum Phase {
            /// Unary: until its request message is complete.
            case awaitingRequest
            case running(Task<Void, Never>, requests: LeanRequestStream?, writer: LeanResponseWriter?)
            /// The status is written; the stream lingers until the client ends its side.
            case finished
        }

        var isFinished: Bool {
            if case .finished = phase { return true }
            return false
        }
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        // The connection window starts at 65,535 whatever SETTINGS say:
        // open it to the target at once.
        let increment = configuration.connectionWindow - 65_535
        if increment > 0 {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
            context.flush()
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadlineTimer?.task.cancel()
        deadlineTimer = nil
        let open = streams
        streams.removeAll()
        for (_, stream) in open { abandon(stream) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            receiveHeaders(headers, on: frame.streamID, context: context)
        case .data(let data):
            receiveData(data, on: frame.streamID, context: context)
        case .ping(_, ack: false):
            if pings.receivedPing(at: context.eventLoop.now) == .tooMany {
                logger.debug("closing gRPC connection: too many pings", metadata: ["peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"])
                goAway(.enhanceYourCalm, debug: "too_many_pings", context: context)
                context.close(promise: nil)
            }
        default:
            // RST_STREAM comes back as StreamClosedEvent; SETTINGS, PING acks,
            // WINDOW_UPDATE and GOAWAY are NIOHTTP2Handler's business.
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let closed as StreamClosedEvent:
            if let stream = streams.removeValue(forKey: closed.streamID) { abandon(stream) }
            closeIfQuiesced(context: context)
        case let window as NIOHTTP2WindowUpdatedEvent where window.streamID == .rootStream:
            if let size = window.inboundWindowSize, size <= configuration.connectionWindow / 2 {
                context.write(
                    wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: configuration.connectionWindow - size))),
                    promise: nil)
                scheduleFlush(context: context)
            }
        case is ChannelShouldQuiesceEvent:
            quiesce(context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream error resets that stream, which StreamClosedEvent reports;
        // anything else ends the connection (NIOHTTP2Handler sent GOAWAY).
        if error is NIOHTTP2Errors.StreamError { return }
        logger.debug("closing gRPC connection", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Requests

    private func receiveHeaders(_ payload: HTTP2Frame.FramePayload.Headers, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        if streams[id] != nil {
            // Trailers from a client (gRPC clients send none): only their END_STREAM matters.
            if payload.endStream { endOfRequests(on: id, context: context) }
            return
        }
        if id > lastStreamID { lastStreamID = id }
        let headers = payload.headers
        if let rejection = Self.rejection(of: headers) {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: rejection, endStream: true)))), promise: nil)
            scheduleFlush(context: context)
            return
        }
        guard let path = headers.first(name: ":path"), let method = methods.method(forPath: path) else {
            writeTrailersOnly(id, code: .unimplemented, message: "Requested RPC isn't implemented by this server.", context: context)
            return
        }
        method.metrics.callStarted()
        var deadline: NIODeadline?
        if let value = headers.first(name: "grpc-timeout"), let timeout = GRPCWire.timeout(Substring(value)) {
            // Capped so that the sum cannot overflow: a year is no deadline in practice.
            deadline = context.eventLoop.now + min(timeout, .hours(24 * 365))
        }
        var stream = CallStream(
            method: method, decoder: LengthPrefixedMessageDecoder(maxMessageBytes: configuration.maxMessageBytes),
            credentials: credentials(headers, context: context), deadline: deadline, phase: .awaitingRequest)
        stream.inboundClosed = payload.endStream
        if case .streaming(let handler) = method.handler {
            startStreaming(handler, stream: &stream, id: id, context: context)
        }
        streams[id] = stream
        if let deadline { armDeadlineTimer(for: deadline, context: context) }
        if payload.endStream { endOfRequests(on: id, context: context) }
    }

    /// A reason to refuse the request before looking at its method, as a
    /// trailers-only response (grpc-swift's checks and answers), or nil.
    static func rejection(of headers: HPACKHeaders) -> HPACKHeaders? {
        guard let contentType = headers.first(name: "content-type"), isGRPCContentType(contentType) else {
            return [":status": "415"]
        }
        guard headers.first(name: ":method") == "POST" else {
            return trailersOnly(code: .invalidArgument, message: ":method header is expected to be present and have a value of \"POST\".")
        }
        if let encoding = headers.first(name: "grpc-encoding"), encoding != "identity" {
            var trailers = trailersOnly(
                code: .unimplemented,
                message: "\(encoding) compression is not supported; supported algorithms are listed in grpc-accept-encoding")
            trailers.add(name: "grpc-accept-encoding", value: "identity")
            return trailers
        }
        return nil
    }

    /// `application/grpc`, alone or followed by `+format` or `;parameters`.
    static func isGRPCContentType(_ value: String) -> Bool {
        let prefix = "application/grpc"
        guard value.hasPrefix(prefix) else { return false }
        let rest = value.utf8.dropFirst(prefix.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: ";")
    }

    /// The caller: the `token` metadata (or `authorization`, as etcd's
    /// gateway forwards it) and, with client-cert auth, the certificate's CN.
    private func credentials(_ headers: HPACKHeaders, context: ChannelHandlerContext) -> RequestCredentials? {
        let token = headers.first(name: "token") ?? headers.first(name: "authorization")
        if let lookup = configuration.commonName, commonName == nil {
            commonName = lookup(context.channel.remoteAddress)
        }
        guard token != nil || commonName != nil else { return nil }
        return RequestCredentials(token: token, commonName: commonName)
    }

    /// The stream's record is changed in place (`streams[id]?…`): a copy
    /// taken out of the dictionary would share the decoder's buffer, and
    /// every append to a message split across frames would copy it whole.
    private func receiveData(_ payload: HTTP2Frame.FramePayload.Data, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        guard let stream = streams[id], case .byteBuffer(let bytes) = payload.data else { return }
        let flowControlled = bytes.readableBytes + (payload.paddingBytes.map { $0 + 1 } ?? 0)
        if !stream.isFinished {
            streams[id]?.decoder.append(bytes)
            do {
                while let message = try streams[id]?.decoder.next() {
                    deliver(message, on: id, context: context)
                    if streams[id]?.isFinished ?? true { break }
                }
            } catch {
                failDecoding(error, on: id, context: context)
                return
            }
        }
        if payload.endStream {
            streams[id]?.inboundClosed = true
            endOfRequests(on: id, context: context)
        } else if flowControlled > 0 {
            returnWindowIfDue(adding: flowControlled, on: id, context: context)
        }
    }

    private func deliver(_ message: ByteBuffer, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        guard let stream = streams[id] else { return }
        switch (stream.phase, stream.method.handler) {
        case (.awaitingRequest, .unary(let handler)):
            startUnary(handler, message: message, id: id, context: context)
        case (.running(_, let requests?, _), _):
            if requests.yield(message) { streams[id]?.windowHeld = true }
        default:
            // A unary call's second message: grpc-go ignores it too.
            break
        }
    }

    /// The client half-closed: a streaming call's requests end; a unary call
    /// that got no complete message fails.
    private func endOfRequests(on id: HTTP2StreamID, context: ChannelHandlerContext) {
        guard let stream = streams[id] else { return }
        switch stream.phase {
        case .awaitingRequest:
            finish(id, code: .internalError, message: "Unary request must contain exactly one message.", context: context)
        case .running(_, let requests?, _):
            requests.finish()
        case .running, .finished:
            break
        }
    }

    private func failDecoding(_ error: LengthPrefixedMessageDecoder.Failure, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        switch error {
        case .tooLarge(let length, let limit):
            finish(id, code: .resourceExhausted, message: "grpc: received message larger than max (\(length) vs. \(limit))", context: context)
        case .compressed:
            finish(id, code: .internalError, message: "grpc: compressed flag set with identity or empty encoding", context: context)
        }
    }

    // MARK: Calls

    private func startUnary(
        _ handler: @escaping LeanRPCMethodTable.UnaryHandler, message: ByteBuffer, id: HTTP2StreamID,
        context: ChannelHandlerContext
    ) {
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        let credentials = streams[id]?.credentials
        let task = Task {
            let result: Result<ByteBuffer, any Error>
            do {
                result = .success(try await LeanCall.withCredentials(credentials) { try await handler(message) })
            } catch {
                result = .failure(error)
            }
            connection.eventLoop.execute { connection.value.unaryReturned(result, on: id) }
        }
        streams[id]?.phase = .running(task, requests: nil, writer: nil)
    }

    private func unaryReturned(_ result: Result<ByteBuffer, any Error>, on id: HTTP2StreamID) {
        guard let context, let stream = streams[id], case .running = stream.phase else { return }
        switch result {
        case .success(let response):
            streams[id]?.phase = .finished
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: Self.responseHead)))), promise: nil)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(response))))), promise: nil)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: Self.okTrailers, endStream: true)))), promise: nil)
            stream.method.metrics.callHandled(nil)
            scheduleFlush(context: context)
        case .failure(let error):
            let status = LeanCall.status(of: error)
            finish(id, code: status.code, message: status.message, context: context)
        }
    }

    private func startStreaming(
        _ handler: @escaping LeanRPCMethodTable.StreamingHandler, stream: inout CallStream, id: HTTP2StreamID,
        context: ChannelHandlerContext
    ) {
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        let requests = LeanRequestStream(resumeCredit: {
            connection.eventLoop.execute { connection.value.resumeWindow(on: id) }
        })
        let writer = LeanResponseWriter(streamID: id) { bytes, writer in
            connection.eventLoop.execute { connection.value.write(bytes, from: writer) }
        }
        let credentials = stream.credentials
        let task = Task {
            let failure: (any Error)?
            do {
                try await LeanCall.withCredentials(credentials) { try await handler(requests, writer) }
                failure = nil
            } catch {
                failure = error
            }
            connection.eventLoop.execute { connection.value.streamingReturned(failure, on: id) }
        }
        stream.phase = .running(task, requests: requests, writer: writer)
        // The response head goes out at once, as grpc-swift sent it.
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: Self.responseHead)))), promise: nil)
        stream.headersSent = true
        scheduleFlush(context: context)
    }

    private func write(_ bytes: ByteBuffer, from writer: LeanResponseWriter) {
        let size = bytes.readableBytes
        guard let context, let stream = streams[writer.streamID], !stream.isFinished else {
            writer.written(size)
            writer.close()
            return
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in writer.written(size) }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: writer.streamID, payload: .data(.init(data: .byteBuffer(bytes))))), promise: promise)
        scheduleFlush(context: context)
    }

    private func streamingReturned(_ failure: (any Error)?, on id: HTTP2StreamID) {
        guard let context, let stream = streams[id], case .running = stream.phase else { return }
        if let failure {
            let status = LeanCall.status(of: failure)
            finish(id, code: status.code, message: status.message, context: context)
        } else {
            finish(id, code: nil, message: "", context: context)
        }
    }

    /// Ends a call with a status (nil: OK): trailers, or a trailers-only
    /// response when nothing was sent yet. Its task, if any, is cancelled
    /// (it has returned when the status is its own).
    private func finish(_ id: HTTP2StreamID, code: RPCError.Code?, message: String, context: ChannelHandlerContext) {
        guard var stream = streams[id], !stream.isFinished else { return }
        stop(stream.phase)
        stream.phase = .finished
        // Recorded before writing: the END_STREAM may close the stream, and
        // NIOHTTP2Handler reports that (StreamClosedEvent) within the write.
        streams[id] = stream
        stream.method.metrics.callHandled(code)
        if stream.headersSent {
            var trailers: HPACKHeaders = ["grpc-status": GRPCWire.statusValue(code)]
            if !message.isEmpty { trailers.add(name: "grpc-message", value: GRPCWire.percentEncoded(message)) }
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: trailers, endStream: true)))), promise: nil)
            scheduleFlush(context: context)
        } else {
            writeTrailersOnly(id, code: code, message: message, context: context)
        }
    }

    /// A stream the client reset, or the connection closed, before its
    /// status: the call is cancelled and counts as Canceled.
    private func abandon(_ stream: CallStream) {
        guard !stream.isFinished else { return }
        stop(stream.phase)
        stream.method.metrics.callHandled(.cancelled)
    }

    private func stop(_ phase: CallStream.Phase) {
        guard case .running(let task, let requests, let writer) = phase else { return }
        task.cancel()
        requests?.finish(throwing: CancellationError())
        writer?.close()
    }

    private func writeTrailersOnly(_ id: HTTP2StreamID, code: RPCError.Code?, message: String, context: ChannelHandlerContext) {
        let headers = Self.trailersOnly(code: code, message: message)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: true)))), promise: nil)
        scheduleFlush(context: context)
    }

    static let responseHead: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
    static let okTrailers: HPACKHeaders = ["grpc-status": "0"]

    static func trailersOnly(code: RPCError.Code?, message: String) -> HPACKHeaders {
        var headers = responseHead
        headers.add(name: "grpc-status", value: GRPCWire.statusValue(code))
        if !message.isEmpty { headers.add(name: "grpc-message", value: GRPCWire.percentEncoded(message)) }
        return headers
    }

    // MARK: Flow control

    /// Counts `received` bytes against a stream's window and gives the
    /// client back what it used once that is half the window, unless the
    /// call's backlog holds it (or no more data may come on the stream).
    private func returnWindowIfDue(adding received: Int, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        guard var stream = streams[id], !stream.isFinished, !stream.inboundClosed else { return }
        stream.unreturnedWindow += received
        if !stream.windowHeld, stream.unreturnedWindow >= configuration.streamWindow / 2 {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: stream.unreturnedWindow))), promise: nil)
            stream.unreturnedWindow = 0
            scheduleFlush(context: context)
        }
        streams[id] = stream
    }

    private func resumeWindow(on id: HTTP2StreamID) {
        guard let context, var stream = streams[id], stream.windowHeld else { return }
        stream.windowHeld = false
        if stream.unreturnedWindow > 0, !stream.inboundClosed, !stream.isFinished {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: stream.unreturnedWindow))), promise: nil)
            stream.unreturnedWindow = 0
            scheduleFlush(context: context)
        }
        streams[id] = stream
    }

    /// One flush for everything written in this turn of the event loop: the
    /// flush runs after the tasks already queued (other calls' answers).
    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = connection.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }

    // MARK: Deadlines

    /// Keeps one timer for the earliest deadline of the calls in flight.
    /// Calls mostly end long before their deadline, so the timer seldom
    /// fires and never follows every call.
    private func armDeadlineTimer(for deadline: NIODeadline, context: ChannelHandlerContext) {
        if let armed = deadlineTimer, armed.deadline <= deadline { return }
        deadlineTimer?.task.cancel()
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: deadline) { connection.value.deadlineTimerFired() }
        deadlineTimer = (deadline, task)
    }

    private func deadlineTimerFired() {
        deadlineTimer = nil
        guard let context else { return }
        let now = context.eventLoop.now
        var next: NIODeadline?
        var expired: [HTTP2StreamID] = []
        for (id, stream) in streams where !stream.isFinished {
            guard let deadline = stream.deadline else { continue }
            if deadline <= now {
                expired.append(id)
            } else if next.map({ deadline < $0 }) ?? true {
                next = deadline
            }
        }
        for id in expired {
            finish(id, code: .deadlineExceeded, message: "context deadline exceeded", context: context)
        }
        if let next { armDeadlineTimer(for: next, context: context) }
    }

    // MARK: Connection end

    private func goAway(_ code: HTTP2ErrorCode, debug: String?, context: ChannelHandlerContext) {
        let opaque = debug.map { ByteBuffer(string: $0) }
        context.write(
            wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStreamID, errorCode: code, opaqueData: opaque))),
            promise: nil)
        context.flush()
    }

    private func quiesce(context: ChannelHandlerContext) {
        guard !quiescing else { return }
        quiescing = true
        goAway(.noError, debug: nil, context: context)
        if closeIfQuiesced(context: context) { return }
        let channel = context.channel
        context.eventLoop.scheduleTask(in: configuration.shutdownGrace) { channel.close(promise: nil) }
    }

    /// Closes a quiescing connection once its last call is done.
    @discardableResult
    private func closeIfQuiesced(context: ChannelHandlerContext) -> Bool {
        guard quiescing, !streams.values.contains(where: { !$0.isFinished }) else { return false }
        context.close(promise: nil)
        return true
    }
}

/// grpc-swift's (and grpc-go's) keep-alive enforcement: a client ping
/// within `minInterval` of the last acceptable one is a strike unless we
/// sent data since; more than two strikes end the connection with GOAWAY
/// ENHANCE_YOUR_CALM. Go clients ping every 10 s with or without calls, and
/// whenever data reaches them with no ping outstanding (BDP estimation, so
/// many times during one large response): both are fine.
///
/// "Sent" means written to the network: NIOHTTP2Handler reports each frame
/// it writes to this, its frame delegate, so the DATA frames of a response
/// that flow control spreads over many round trips each count.
final class PingPolicy: NIOHTTP2FrameDelegate {
    enum Verdict { case fine, tooMany }

    static let maxStrikes = 2
    let minInterval: TimeAmount
    private var lastAcceptable: NIODeadline?
    private var strikes = 0

    init(minInterval: TimeAmount) {
        self.minInterval = minInterval
    }

    func receivedPing(at now: NIODeadline) -> Verdict {
        if let last = lastAcceptable, now < last + minInterval {
            strikes += 1
            return strikes > Self.maxStrikes ? .tooMany : .fine
        }
        lastAcceptable = now
        return .fine
    }

    /// We sent HEADERS or DATA: pings are welcome again.
    func wroteData() {
        lastAcceptable = nil
        strikes = 0
    }

    func wroteFrame(_ frame: HTTP2Frame) {
        switch frame.payload {
        case .data, .headers: wroteData()
        default: break
        }
    }
}
