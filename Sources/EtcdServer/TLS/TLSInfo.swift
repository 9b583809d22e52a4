/// The certificate files one side of a member uses (client or peer), as
/// etcd's `transport.TLSInfo` holds them. Paths only: the files are read
/// when the TLS contexts are made, so a bad file fails at start.
public struct TLSInfo: Sendable, Hashable {
    /// PEM certificate this member presents (as a server, and as a client
    /// when it dials another member).
    public var certFile = ""
    /// PEM private key of `certFile`.
    public var keyFile = ""
    /// PEM bundle of the CAs whose certificates the other side must present.
    public var trustedCAFile = ""
    /// Demand a certificate from whoever connects (`--client-cert-auth`).
    public var clientCertAuth = false
    /// Made by `--auto-tls`/`--peer-auto-tls`: nobody can verify it, so a
    /// dialer using it skips server verification (etcd's `selfCert`).
    public var isSelfSigned = false

    public init(
        certFile: String = "", keyFile: String = "", trustedCAFile: String = "", clientCertAuth: Bool = false,
        isSelfSigned: Bool = false
    ) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.trustedCAFile = trustedCAFile
        self.clientCertAuth = clientCertAuth
        self.isSelfSigned = isSelfSigned
    }

    /// No certificate configured (etcd's `TLSInfo.Empty`).
    public var isEmpty: Bool { certFile.isEmpty && keyFile.isEmpty }

    /// Whether a listener must demand and verify the other side's
    /// certificate: etcd does so when a trusted CA is given, even without
    /// `--client-cert-auth` (`TLSInfo.ServerConfig`).
    public var requiresClientCertificate: Bool { !trustedCAFile.isEmpty || clientCertAuth }
}

extension TLSInfo: CustomStringConvertible {
    /// etcd's `TLSInfo.String`, for the startup log.
    public var description: String {
        "cert = \(certFile), key = \(keyFile), trusted-ca = \(trustedCAFile), client-cert-auth = \(clientCertAuth)"
    }
}
