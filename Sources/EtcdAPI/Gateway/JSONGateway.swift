import EtcdServer
import GRPCCore
import NIOHTTP1

/// etcd's JSON gateway: `POST /v3/<service>/<method>` with the request
/// message as JSON, answered with the response message as JSON, through
/// the client port's own gRPC services (`GatewayClient`).
struct JSONGateway: Sendable {
    let client: GatewayClient
    private let routes: [String: any GatewayRoute]

    /// `servesAuth`: whether the gRPC API has the Auth service; until it
    /// does, authenticate answers etcd's "authentication is not enabled",
    /// which is what etcd says while auth is off (the other Auth routes
    /// answer gRPC's UNIMPLEMENTED).
    init(client: GatewayClient, servesAuth: Bool) {
        self.client = client
        var routes = GatewayRoutes.table(maxBodyBytes: client.maxBodyBytes)
        if !servesAuth {
            routes["/v3/auth/authenticate"] = FailingRoute(error: GatewayError(EtcdError.authNotEnabled))
        }
        self.routes = routes
    }

    /// Whether `path` is the gateway's (etcd mounts it on `/v3/`).
    static func owns(_ path: String) -> Bool { path.hasPrefix("/v3/") }

    /// `/v3beta/…` is the name etcd 3.3 used; etcd 3.4 rewrites it.
    static func canonicalPath(_ path: String) -> String {
        path.hasPrefix("/v3beta/") ? "/v3/" + path.dropFirst("/v3beta/".count) : path
    }

    /// The endpoint for a request under `/v3/`: grpc-gateway answers a path
    /// it knows with the wrong method 405, and one it does not know 404,
    /// both as Go's `http.Error` (plain text).
    func endpoint(for request: HTTPRequest, path: String) -> any HTTPEndpoint {
        guard let route = routes[path] else { return TextErrorEndpoint(status: .notFound, text: "Not Found") }
        guard request.method == .POST else {
            return TextErrorEndpoint(status: .methodNotAllowed, text: "Method Not Allowed")
        }
        return GatewayCallEndpoint(route: route, client: client)
    }
}

/// One call through the gateway.
struct GatewayCallEndpoint: HTTPEndpoint {
    let route: any GatewayRoute
    let client: GatewayClient

    var bodyPolicy: HTTPBodyPolicy { route.bodyPolicy }

    func respond(to request: HTTPRequest, body: HTTPRequestBody, responder: HTTPResponder) async {
        try? await route.serve(body, metadata: Self.metadata(request.head.headers), client: client, responder: responder)
    }

    /// grpc-gateway's default forwarding: `Authorization` as `authorization`
    /// (where etcd's auth looks for a token), and `Grpc-Metadata-<Key>` as
    /// `<key>`.
    static func metadata(_ headers: HTTPHeaders) -> Metadata {
        var metadata: Metadata = [:]
        let prefix = "grpc-metadata-"
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower == "authorization" {
                metadata.addString(value, forKey: "authorization")
            } else if lower.hasPrefix(prefix), lower.count > prefix.count {
                metadata.addString(value, forKey: String(lower.dropFirst(prefix.count)))
            }
        }
        return metadata
    }
}

/// A route answered with a fixed error, as if its call had failed.
struct FailingRoute: GatewayRoute {
    let error: GatewayError

    var bodyPolicy: HTTPBodyPolicy { .collect(limit: 64 * 1024) }

    func serve(_ body: HTTPRequestBody, metadata: Metadata, client: GatewayClient, responder: HTTPResponder) async throws {
        try await GatewayResponse.callError(error, responder: responder)
    }
}

extension GatewayError {
    init(_ error: EtcdError) {
        self.init(code: error.code.rawValue, message: error.message)
    }
}
