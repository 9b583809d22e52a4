import EtcdServer
import NIOCore

/// `GET /version`: the versions etcd reports, which tools use to decide
/// what the server supports (`etcdserver` is the server, `etcdcluster`
/// the version the whole cluster agreed on, at minor precision).
struct VersionEndpoint: HTTPEndpoint {
    static var body: String {
        "{\"etcdserver\":\"\(EtcdServer.apiVersion)\",\"etcdcluster\":\"\(EtcdServer.clusterVersion)\"}"
    }

    func respond(to request: HTTPRequest, body: HTTPRequestBody, responder: HTTPResponder) async {
        guard request.method == .GET else {
            try? await responder.textError(.methodNotAllowed, "Method Not Allowed", headers: [("Allow", "GET")])
            return
        }
        try? await responder.respond(
            .ok, headers: [("Content-Type", "application/json")], body: ByteBuffer(string: Self.body))
    }
}
