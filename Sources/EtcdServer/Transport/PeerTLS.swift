import NIOSSL

/// The TLS contexts of the peer transport. Whether a connection uses TLS
/// is decided per URL (`PeerAddress.usesTLS`), as etcd does: an `https`
/// listen URL wraps accepted connections in `server`, an `https` peer URL
/// wraps the dialed connection in `client`.
public struct PeerTLS: Sendable {
    /// For `https` listen URLs; nil when this member has no peer certificate.
    public let server: NIOSSLContext?
    /// For dialing `https` peers: presents this member's peer certificate
    /// (if any) and verifies the peer's against the trusted CA.
    public let client: NIOSSLContext

    public init(server: NIOSSLContext?, client: NIOSSLContext) {
        self.server = server
        self.client = client
    }
}
