import EtcdServer
import Prometheus

/// What the client port answers over HTTP/1.1, with etcd's mux: the JSON
/// gateway under `/v3/` (and `/v3beta/`), `/health`, `/version` and
/// `/metrics`, Go's "404 page not found" for anything else, a 200 to any
/// CORS preflight, and etcd's CORS headers (origin `*`, its default
/// `--cors`) on every response.
struct ClientPortRouter: HTTPRouter {
    /// Nil with `--enable-grpc-gateway=false`.
    let gateway: JSONGateway?
    let server: EtcdServer
    let registry: PrometheusCollectorRegistry

    let commonHeaders = [
        ("Access-Control-Allow-Headers", "accept, content-type, authorization"),
        ("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE"),
        ("Access-Control-Allow-Origin", "*"),
    ]

    func endpoint(for request: HTTPRequest) -> any HTTPEndpoint {
        if request.method == .OPTIONS { return PreflightEndpoint() }
        let path = JSONGateway.canonicalPath(request.path)
        if let gateway, JSONGateway.owns(path) { return gateway.endpoint(for: request, path: path) }
        switch path {
        case "/health": return HealthEndpoint(server: server)
        case "/version": return VersionEndpoint()
        case "/metrics": return MetricsEndpoint(registry: registry)
        default: return TextErrorEndpoint(status: .notFound, text: "404 page not found")
        }
    }
}

/// What a `--listen-metrics-urls` port answers: `/metrics` and `/health`
/// only, without CORS headers (etcd serves them from a bare mux).
struct MetricsPortRouter: HTTPRouter {
    let server: EtcdServer
    let registry: PrometheusCollectorRegistry

    let commonHeaders: [(String, String)] = []

    func endpoint(for request: HTTPRequest) -> any HTTPEndpoint {
        switch request.path {
        case "/health": HealthEndpoint(server: server)
        case "/metrics": MetricsEndpoint(registry: registry)
        default: TextErrorEndpoint(status: .notFound, text: "404 page not found")
        }
    }
}
