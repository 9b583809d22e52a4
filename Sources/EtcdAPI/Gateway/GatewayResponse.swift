import NIOCore
import NIOHTTP1

/// The responses of etcd's gateway, header for header, so that clients
/// which look at more than the body (status, content type, trailers) see
/// what etcd sends.
enum GatewayResponse {
    /// grpc-gateway copies the gRPC response headers as `Grpc-Metadata-*`;
    /// etcd's gRPC server sends its content type there.
    static let successHeaders = [("Content-Type", "application/json"), ("Grpc-Metadata-Content-Type", "application/grpc")]

    static func message(_ json: String, responder: HTTPResponder) async throws {
        try await responder.respond(.ok, headers: successHeaders, body: ByteBuffer(string: json))
    }

    /// An error raised before any call (a malformed body): a plain JSON body.
    static func requestError(_ error: GatewayError, responder: HTTPResponder) async throws {
        try await responder.respond(
            error.httpStatus, headers: [("Content-Type", "application/json")], body: ByteBuffer(string: error.unaryBody))
    }

    /// An error a call returned: grpc-gateway announces and sends the gRPC
    /// trailers it got (`Grpc-Trailer-Content-Type`), so the body is chunked.
    static func callError(_ error: GatewayError, responder: HTTPResponder) async throws {
        try await responder.head(
            error.httpStatus,
            headers: [
                ("Content-Type", "application/json"), ("Trailer", "Grpc-Trailer-Content-Type"),
                ("Transfer-Encoding", "chunked"),
            ])
        try await responder.body(error.unaryBody)
        try await responder.end(trailers: [("Grpc-Trailer-Content-Type", "application/grpc")])
    }
}

/// A streaming response (`runtime.ForwardResponseStream`): one
/// `{"result": …}` line per message, flushed as it comes; the head goes out
/// with the first message, so a call that fails before answering gets the
/// error's status.
struct GatewayStreamWriter: Sendable {
    let responder: HTTPResponder
    private(set) var headSent = false

    init(responder: HTTPResponder) {
        self.responder = responder
    }

    mutating func write(_ json: String) async throws {
        try await sendHeadIfNeeded(.ok)
        try await responder.body("{\"result\":\(json)}\n")
    }

    mutating func fail(_ error: GatewayError) async throws {
        try await sendHeadIfNeeded(error.httpStatus)
        try await responder.body(error.streamChunk)
        try await responder.end()
    }

    mutating func finish() async throws {
        try await sendHeadIfNeeded(.ok)
        try await responder.end()
    }

    private mutating func sendHeadIfNeeded(_ status: HTTPResponseStatus) async throws {
        guard !headSent else { return }
        headSent = true
        try await responder.head(status, headers: GatewayResponse.successHeaders + [("Transfer-Encoding", "chunked")])
    }
}
