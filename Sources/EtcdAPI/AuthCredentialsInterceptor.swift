import EtcdServer
import GRPCCore

/// Picks up the credentials etcd clients send with every call — a simple
/// token in the `token` metadata (or `authorization`, as etcd's gRPC gateway
/// forwards it) — and binds them as `RequestCredentials.current` while the
/// call runs, so the server knows who asks.
///
/// A streaming handler's body (Watch, LeaseKeepAlive) runs in the response
/// producer after `next` returned, so the producer is wrapped to see the
/// same credentials. The token is only carried here; the server resolves
/// it, and only for the calls that need a user.
struct AuthCredentialsInterceptor: ServerInterceptor {
    /// TLS hook: the common name of the verified client certificate of the
    /// connection a call came in on (etcd uses it as the user when the call
    /// carries no token and `--client-cert-auth` is on), or nil. The TLS
    /// listener provides it, e.g. from a registry its accept hook fills on
    /// handshake completion, keyed by `context.remotePeer`.
    var commonName: @Sendable (ServerContext) -> String? = { _ in nil }

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let credentials = Self.credentials(in: request.metadata, commonName: commonName(context))
        var response = try await RequestCredentials.$current.withValue(credentials) {
            try await next(request, context)
        }
        if case .success(var contents) = response.accepted {
            let producer = contents.producer
            contents.producer = { writer in
                try await RequestCredentials.$current.withValue(credentials) { try await producer(writer) }
            }
            response.accepted = .success(contents)
        }
        return response
    }

    static func credentials(in metadata: Metadata, commonName: String? = nil) -> RequestCredentials {
        RequestCredentials(
            token: firstValue(metadata, "token") ?? firstValue(metadata, "authorization"), commonName: commonName)
    }

    private static func firstValue(_ metadata: Metadata, _ key: String) -> String? {
        var values = metadata[stringValues: key].makeIterator()
        return values.next()
    }
}
