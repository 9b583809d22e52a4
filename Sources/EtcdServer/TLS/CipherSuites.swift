import NIOSSL

/// `--cipher-suites`: etcd takes Go's cipher suite names
/// (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`, …); we map each to the suite
/// BoringSSL (through swift-nio-ssl) offers under the same IANA number.
///
/// As in Go, the list restricts TLS 1.2 only: TLS 1.3 suites are not
/// configurable, so their names are accepted and change nothing, except
/// that a list of TLS 1.3 names alone leaves no TLS 1.2 suite and so means
/// TLS 1.3 only.
public struct CipherSuites: Sendable, Equatable {
    /// The TLS 1.2 suites to offer, in the order given; empty with
    /// `tls13Only == false` keeps the library's defaults.
    public var tls12: [NIOTLSCipher]
    public var tls13Only: Bool

    /// Parses etcd's names; an unknown name fails with etcd's text, a name
    /// Go knows but BoringSSL does not implement (RC4, 3DES, CBC-SHA256)
    /// fails with its own, rather than being dropped silently.
    public static func parse(_ names: [String]) throws(TLSSetupError) -> CipherSuites {
        var tls12: [NIOTLSCipher] = []
        var sawTLS13 = false
        for name in names {
            if let value = supported[name] {
                tls12.append(NIOTLSCipher(rawValue: value))
            } else if tls13Names.contains(name) {
                sawTLS13 = true
            } else if unsupported.contains(name) {
                throw TLSSetupError("TLS cipher suite \"\(name)\" is not supported by swift-etcd's TLS library (BoringSSL)")
            } else {
                throw TLSSetupError("unexpected TLS cipher suite \"\(name)\"")
            }
        }
        return CipherSuites(tls12: tls12, tls13Only: tls12.isEmpty && sawTLS13)
    }

    /// Applies the restriction to a swift-nio-ssl configuration.
    func apply(to configuration: inout TLSConfiguration) {
        if tls13Only {
            configuration.minimumTLSVersion = .tlsv13
        } else if !tls12.isEmpty {
            configuration.cipherSuiteValues = tls12
        }
    }

    /// Go's TLS 1.0–1.2 suite names BoringSSL implements, with their IANA
    /// numbers; the two CHACHA20 aliases etcd adds itself are included.
    private static let supported: [String: UInt16] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": 0x002F,
        "TLS_RSA_WITH_AES_256_CBC_SHA": 0x0035,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": 0x009C,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": 0x009D,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": 0xC009,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": 0xC00A,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": 0xC013,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": 0xC014,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xC02C,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA8,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": 0xCCA8,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": 0xCCA9,
    ]

    private static let tls13Names: Set<String> = [
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    ]

    /// Go's `tls.InsecureCipherSuites()`: names etcd accepts that BoringSSL
    /// no longer implements.
    private static let unsupported: Set<String> = [
        "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    ]
}

/// A TLS configuration etcd would refuse to start with; the description is
/// etcd's error text where etcd has one.
public struct TLSSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
