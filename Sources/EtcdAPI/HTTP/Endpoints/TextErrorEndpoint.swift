import NIOHTTP1

/// A fixed plain-text error, as Go's `http.Error` writes it (unknown paths,
/// wrong methods).
struct TextErrorEndpoint: HTTPEndpoint {
    let status: HTTPResponseStatus
    let text: String
    /// Extra headers (`Allow` on a 405 from etcd's own handlers).
    var headers: [(String, String)] = []

    func respond(to request: HTTPRequest, body: HTTPRequestBody, responder: HTTPResponder) async {
        try? await responder.textError(status, text, headers: headers)
    }
}

/// etcd answers a CORS preflight (`OPTIONS`, any path) with an empty 200;
/// the CORS headers themselves go on every response of the client port.
struct PreflightEndpoint: HTTPEndpoint {
    func respond(to request: HTTPRequest, body: HTTPRequestBody, responder: HTTPResponder) async {
        try? await responder.respond(.ok)
    }
}
