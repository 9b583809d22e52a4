import NIOSSL

/// The TLS context of an `https` client URL, which serves gRPC (HTTP/2)
/// and HTTP/1.1 (the JSON gateway, `/health`, `/version`, `/metrics`) on
/// one port, as etcd does.
///
/// ALPN decides which protocol a TLS client speaks, and the server's order
/// of preference wins (swift-nio-ssl picks the first of ours the client
/// offers). gRPC clients offer `h2` alone (grpc-go, grpc-java) or with
/// `grpc-exp` (grpc-swift); browsers, curl and Go's HTTP client offer
/// `h2` and `http/1.1`. Preferring `http/1.1` to `h2` therefore gives
/// every gRPC client HTTP/2 and every HTTP client HTTP/1.1, which is the
/// protocol the gateway serves. The bytes decide in the end (the client
/// listener sniffs for the HTTP/2 preface after the handshake), so a
/// client that negotiated nothing still reaches the right side.
public enum ClientListenerTLS {
    /// Server preference, most preferred first.
    public static let applicationProtocols = ["grpc-exp", "http/1.1", "h2"]

    /// etcd's server rules (TLS 1.2 at least, a verified client certificate
    /// when a trusted CA is given or `--client-cert-auth` is on) and
    /// `--cipher-suites`, which now applies to client connections too.
    public static func context(_ info: TLSInfo, cipherSuites: [String]) throws(TLSSetupError) -> NIOSSLContext {
        var configuration = try TLSConfigurations.server(info, cipherSuites: CipherSuites.parse(cipherSuites))
        configuration.applicationProtocols = applicationProtocols
        return try TLSConfigurations.context(configuration)
    }
}
