import Logging
import NIOCore
import NIOHTTP1

/// Serves one HTTP/1.1 connection: each request goes to the endpoint the
/// router picks, run as a task, whose response comes back through an
/// `HTTPResponder`. NIO's `HTTPServerPipelineHandler` in front of it holds
/// pipelined requests back until the previous response ended, so one
/// exchange runs at a time.
///
/// On the client port it is also the end of the line: the gRPC transport's
/// handlers sit behind it (the connection was set up for them before the
/// first bytes told HTTP/1.1 apart, see `ProtocolSniffer`), and they must
/// neither see the traffic nor write to the socket. So no inbound event
/// goes past it but `channelInactive` (which lets the transport forget the
/// connection), and writes coming from behind are dropped.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    /// Whatever the handlers behind might write; never passed on.
    typealias OutboundIn = Any
    typealias OutboundOut = HTTPServerResponsePart

    /// Pieces of a streamed request body buffered for a slow endpoint; a
    /// client that outruns that is cut off.
    static let streamBuffer = 1024

    private let router: any HTTPRouter
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var requestCount = 0
    private var exchange: Exchange?
    private var quiescing = false

    /// One request and its response.
    private final class Exchange {
        let number: Int
        let keepAlive: Bool
        /// The client's HTTP version, which the response repeats.
        let version: HTTPVersion
        var body: Body
        var task: Task<Void, Never>?
        var requestComplete = false
        var headSent = false
        var responseEnded = false
        /// The rest of the request is never read: close after responding.
        var closeAfterResponse = false

        enum Body {
            case collecting(ByteBuffer, limit: Int, start: (HTTPRequestBody) -> Void)
            case streaming(AsyncStream<ByteBuffer>.Continuation)
            case ignored
        }

        init(number: Int, head: HTTPRequestHead, body: Body) {
            self.number = number
            self.keepAlive = head.isKeepAlive
            self.version = head.version
            self.body = body
        }
    }

    init(router: any HTTPRouter, logger: Logger) {
        self.router = router
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelActive(context: ChannelHandlerContext) {}
    func channelReadComplete(context: ChannelHandlerContext) {}
    func channelWritabilityChanged(context: ChannelHandlerContext) {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): begin(head, context: context)
        case .body(var bytes): receive(&bytes, context: context)
        case .end: requestEnded()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange {
            exchange.task?.cancel()
            if case .streaming(let continuation) = exchange.body { continuation.finish() }
            self.exchange = nil
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return }
        quiescing = true
        guard let exchange else {
            context.close(promise: nil)
            return
        }
        // A streaming response (a watch) would never end by itself.
        exchange.closeAfterResponse = true
        if case .streaming = exchange.body { exchange.task?.cancel() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug(
            "closing HTTP connection after an error",
            metadata: ["remote-addr": "\(context.channel.remoteAddress.map { "\($0)" } ?? "unknown")", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Outbound from behind

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.ioOnClosedChannel)
    }

    func flush(context: ChannelHandlerContext) {}

    // MARK: Exchanges

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        requestCount += 1
        let request = HTTPRequest(head: head)
        let endpoint = router.endpoint(for: request)
        let responder = HTTPResponder(
            eventLoop: context.eventLoop, connection: NIOLoopBound(self, eventLoop: context.eventLoop),
            request: requestCount)
        let start: (HTTPRequestBody) -> Void = { [weak self] body in
            self?.start(endpoint, request: request, body: body, responder: responder)
        }
        let expectsContinue = head.headers["expect"].contains { $0.lowercased() == "100-continue" }
        switch endpoint.bodyPolicy {
        case .collect(let limit):
            let declared = head.headers["content-length"].first.flatMap(Int.init)
            if let declared, declared > limit {
                let exchange = Exchange(number: requestCount, head: head, body: .ignored)
                exchange.closeAfterResponse = true
                self.exchange = exchange
                start(.tooLarge(receivedBytes: declared, limit: limit))
                return
            }
            exchange = Exchange(
                number: requestCount, head: head,
                body: .collecting(ByteBuffer(), limit: limit, start: start))
        case .stream:
            let (stream, continuation) = AsyncStream.makeStream(
                of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(Self.streamBuffer))
            exchange = Exchange(number: requestCount, head: head, body: .streaming(continuation))
            start(.stream(stream))
        }
        if expectsContinue {
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
    }

    private func receive(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        guard let exchange, !exchange.responseEnded else { return }
        switch exchange.body {
        case .collecting(var collected, let limit, let start):
            // The enum lets go of the buffer first, so appending does not copy it.
            exchange.body = .ignored
            if collected.readableBytes + bytes.readableBytes > limit {
                exchange.closeAfterResponse = true
                start(.tooLarge(receivedBytes: collected.readableBytes + bytes.readableBytes, limit: limit))
            } else {
                collected.writeBuffer(&bytes)
                exchange.body = .collecting(collected, limit: limit, start: start)
            }
        case .streaming(let continuation):
            if case .dropped = continuation.yield(bytes) {
                logger.debug("closing HTTP connection: request body arrives faster than it is handled")
                context.close(promise: nil)
            }
        case .ignored:
            break
        }
    }

    private func requestEnded() {
        guard let exchange else { return }
        exchange.requestComplete = true
        switch exchange.body {
        case .collecting(let collected, _, let start):
            exchange.body = .ignored
            start(.complete(collected))
        case .streaming(let continuation):
            continuation.finish()
        case .ignored:
            break
        }
        finishIfDone(exchange)
    }

    private func start(_ endpoint: any HTTPEndpoint, request: HTTPRequest, body: HTTPRequestBody, responder: HTTPResponder) {
        guard let exchange, exchange.number == responder.request else { return }
        let eventLoop = responder.eventLoop
        let connection = responder.connection
        exchange.task = Task {
            await endpoint.respond(to: request, body: body, responder: responder)
            eventLoop.execute { connection.value.endpointReturned(request: responder.request) }
        }
    }

    /// An endpoint that returned without finishing its response (it failed
    /// or was cancelled): answer 500 if nothing was sent, else cut the
    /// connection, since the client cannot tell the response is incomplete.
    private func endpointReturned(request number: Int) {
        guard let exchange, exchange.number == number, !exchange.responseEnded, let context else { return }
        if exchange.headSent {
            context.close(promise: nil)
            return
        }
        exchange.closeAfterResponse = true
        let head = HTTPResponseHead(
            version: .http1_1, status: .internalServerError, headers: ["Content-Length": "0"])
        _ = write(.head(head), forRequest: number, on: context.eventLoop)
        _ = write(.end(nil), forRequest: number, on: context.eventLoop)
    }

    /// Writes one part of the response to request `number`.
    func write(_ part: HTTPServerResponsePart, forRequest number: Int, on eventLoop: any EventLoop)
        -> EventLoopFuture<Void>
    {
        guard let context, let exchange, exchange.number == number, !exchange.responseEnded else {
            return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        var part = part
        switch part {
        case .head(var head):
            guard !exchange.headSent else { return eventLoop.makeFailedFuture(HTTPResponderError.headAlreadySent) }
            exchange.headSent = true
            var headers = HTTPHeaders(router.commonHeaders)
            headers.add(contentsOf: head.headers)
            if mustClose(after: exchange) { headers.replaceOrAdd(name: "Connection", value: "close") }
            head.headers = headers
            head.version = exchange.version
            part = .head(head)
        case .body:
            guard exchange.headSent else { return eventLoop.makeFailedFuture(HTTPResponderError.headNotSent) }
        case .end:
            guard exchange.headSent else { return eventLoop.makeFailedFuture(HTTPResponderError.headNotSent) }
            exchange.responseEnded = true
        }
        // The exchange's state is settled before writing: writing the end
        // lets NIO's pipelining handler deliver the next request at once.
        let close = exchange.responseEnded && mustClose(after: exchange)
        if exchange.responseEnded && (close || exchange.requestComplete) {
            if close { exchange.task?.cancel() }
            self.exchange = nil
        }
        let promise = eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(part), promise: promise)
        if close {
            promise.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
        return promise.futureResult
    }

    private func mustClose(after exchange: Exchange) -> Bool {
        exchange.closeAfterResponse || quiescing || !exchange.keepAlive
    }

    /// The request is complete: the exchange ends if its response has.
    private func finishIfDone(_ exchange: Exchange) {
        if exchange.responseEnded, self.exchange === exchange { self.exchange = nil }
    }
}

enum HTTPResponderError: Error, Sendable {
    case headAlreadySent
    case headNotSent
}
