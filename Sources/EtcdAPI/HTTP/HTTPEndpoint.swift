import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP/1.1 request as an endpoint sees it: the head, and the path and
/// query split apart.
struct HTTPRequest: Sendable {
    var head: HTTPRequestHead
    /// The path without the query.
    var path: String
    /// The raw query (after `?`), empty without one.
    var query: String

    init(head: HTTPRequestHead) {
        self.head = head
        let uri = head.uri
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = String(uri[uri.index(after: mark)...])
        } else {
            path = uri
            query = ""
        }
    }

    var method: HTTPMethod { head.method }

    /// The values of query parameter `name` (percent-decoded), in order.
    func queryValues(_ name: String) -> [String] {
        query.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.first.flatMap({ $0.removingPercentEncoding }) == name else { return nil }
            return parts.count > 1 ? (parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
        }
    }
}

/// How an endpoint wants the request body.
enum HTTPBodyPolicy: Sendable {
    /// The whole body before the endpoint runs, up to `limit` bytes.
    case collect(limit: Int)
    /// Each piece as it arrives (streaming requests such as the gateway's
    /// watch, whose body may stay open as long as the response).
    case stream
}

/// The request body as the endpoint gets it.
enum HTTPRequestBody: Sendable {
    case complete(ByteBuffer)
    /// The body passed its policy's limit after `receivedBytes`; the
    /// connection closes after the endpoint's answer, since the rest is
    /// never read.
    case tooLarge(receivedBytes: Int, limit: Int)
    /// Ends when the request does (or the connection goes).
    case stream(AsyncStream<ByteBuffer>)
}

/// Something that answers HTTP requests: the gateway, `/health`,
/// `/version`, `/metrics`, or a fixed error.
protocol HTTPEndpoint: Sendable {
    var bodyPolicy: HTTPBodyPolicy { get }
    /// Answers through `responder`; a response left unfinished on return
    /// is finished (or the connection closed) by the connection.
    func respond(to request: HTTPRequest, body: HTTPRequestBody, responder: HTTPResponder) async
}

extension HTTPEndpoint {
    var bodyPolicy: HTTPBodyPolicy { .collect(limit: 64 * 1024) }
}

/// Picks the endpoint for a request and names the headers every response
/// of the listener carries.
protocol HTTPRouter: Sendable {
    func endpoint(for request: HTTPRequest) -> any HTTPEndpoint
    /// Added to every response head (etcd's CORS headers on the client port).
    var commonHeaders: [(String, String)] { get }
}
