import EtcdServer
import NIOCore

/// `GET /health` as etcd 3.4 answers it: `{"health":"true"}` with 200, or
/// `{"health":"false"}` with 503 (through Go's `http.Error`, hence the
/// newline) while an alarm is raised, no member leads, or a quorum read
/// does not finish within a second. `?exclude=NOSPACE` ignores that alarm.
/// etcd 3.4 gives no reason in the body (3.5 added one); the member's log
/// says why.
struct HealthEndpoint: HTTPEndpoint {
    let server: EtcdServer

    func respond(to request: HTTPRequest, body: HTTPRequestBody, responder: HTTPResponder) async {
        guard request.method == .GET else {
            try? await responder.textError(.methodNotAllowed, "Method Not Allowed", headers: [("Allow", "GET")])
            return
        }
        let excluded = Set(request.queryValues("exclude").filter { !$0.isEmpty })
        if await server.isHealthy(excludedAlarms: excluded) {
            ServerMetrics.shared.healthSuccess.increment()
            try? await responder.respond(
                .ok, headers: [("Content-Type", "text/plain; charset=utf-8")],
                body: ByteBuffer(string: "{\"health\":\"true\"}"))
        } else {
            ServerMetrics.shared.healthFailures.increment()
            try? await responder.textError(.serviceUnavailable, "{\"health\":\"false\"}")
        }
    }
}
