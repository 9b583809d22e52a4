/// Who a client request says it comes from, as the API layer found it on
/// the request (etcd reads the same from its gRPC context): the simple
/// token from the `token` metadata, and the common name of a verified TLS
/// client certificate.
///
/// The API layer binds it as a task-local around each call, so every server
/// method that call reaches sees the same caller without threading it
/// through each signature (as etcd passes its `context.Context`). Code not
/// running for a client — the background loop, lease expiry — has none, and
/// is therefore anonymous: when auth is on it can do only what needs no
/// permission, unless it asks for root explicitly (`propose(_:as:)`).
public struct RequestCredentials: Sendable, Hashable {
    /// The `token` (or gRPC-gateway `authorization`) metadata value.
    public var token: String?
    /// TLS hook: the common name of the client certificate the transport
    /// verified (`--client-cert-auth`), or nil. etcd uses it as the user
    /// name when the request carries no token; the TLS listener sets it.
    public var commonName: String?

    public init(token: String? = nil, commonName: String? = nil) {
        self.token = token
        self.commonName = commonName
    }

    /// The credentials of the request the current task is serving.
    @TaskLocal public static var current: RequestCredentials?
}
