import NIOCore
import Prometheus

/// `/metrics`: every metric in Prometheus' text format (0.0.4), from the
/// registry the metrics factory writes to. Rendering reads the registry
/// under its own locks and never touches the server's actor, so a scrape
/// cannot hold up a request.
struct MetricsEndpoint: HTTPEndpoint {
    let registry: PrometheusCollectorRegistry

    func respond(to request: HTTPRequest, body: HTTPRequestBody, responder: HTTPResponder) async {
        var text: [UInt8] = []
        registry.emit(into: &text)
        try? await responder.respond(
            .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
            body: ByteBuffer(bytes: text))
    }
}
