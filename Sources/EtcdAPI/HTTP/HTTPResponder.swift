import NIOCore
import NIOHTTP1

/// Where an endpoint writes its response: from any task, each part handed
/// to the connection's event loop and awaited until flushed, so a slow
/// client slows the writer down (a watch response waits on its reader)
/// instead of piling up bytes in memory.
struct HTTPResponder: Sendable {
    let eventLoop: any EventLoop
    let connection: NIOLoopBound<HTTPConnectionHandler>
    /// Which request of the connection this answers; a part written for an
    /// earlier request (a cancelled task writing late) is refused.
    let request: Int

    func head(_ status: HTTPResponseStatus, headers: [(String, String)]) async throws {
        try await write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(headers))))
    }

    func body(_ bytes: ByteBuffer) async throws {
        try await write(.body(.byteBuffer(bytes)))
    }

    func body(_ text: String) async throws {
        try await body(ByteBuffer(string: text))
    }

    func end(trailers: [(String, String)]? = nil) async throws {
        try await write(.end(trailers.map(HTTPHeaders.init)))
    }

    /// A whole response with a known length.
    func respond(_ status: HTTPResponseStatus, headers: [(String, String)] = [], body: ByteBuffer = ByteBuffer())
        async throws
    {
        try await head(status, headers: headers + [("Content-Length", "\(body.readableBytes)")])
        if body.readableBytes > 0 { try await self.body(body) }
        try await end()
    }

    /// Go's `http.Error`: a plain-text body ending in a newline.
    func textError(_ status: HTTPResponseStatus, _ text: String, headers: [(String, String)] = []) async throws {
        try await respond(
            status,
            headers: headers + [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")],
            body: ByteBuffer(string: text + "\n"))
    }

    private func write(_ part: HTTPServerResponsePart) async throws {
        let connection = connection
        let request = request
        let eventLoop = eventLoop
        try await eventLoop.flatSubmit { connection.value.write(part, forRequest: request, on: eventLoop) }.get()
    }
}
