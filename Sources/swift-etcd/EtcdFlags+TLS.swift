import EtcdServer

/// etcd 3.4's security flags (client and peer TLS), with etcd's names and
/// usage texts; `TLSSetup.prepare` checks how they combine.
extension EtcdFlags {
    func defineTLS() {
        flagSet.add("cert-file", usage: "Path to the client server TLS cert file.") { [unowned self] v in
            config.clientTLS.certFile = v
            return nil
        }
        flagSet.add("key-file", usage: "Path to the client server TLS key file.") { [unowned self] v in
            config.clientTLS.keyFile = v
            return nil
        }
        flagSet.add("client-cert-auth", usage: "Enable client cert authentication.", isBool: true) { [unowned self] v in
            guard let b = Self.goBool(v) else { return "parse error" }
            config.clientTLS.clientCertAuth = b
            return nil
        }
        flagSet.add("trusted-ca-file", usage: "Path to the client server TLS trusted CA cert file.") { [unowned self] v in
            config.clientTLS.trustedCAFile = v
            return nil
        }
        flagSet.add("auto-tls", usage: "Client TLS using generated certificates", isBool: true) { [unowned self] v in
            guard let b = Self.goBool(v) else { return "parse error" }
            config.clientAutoTLS = b
            return nil
        }
        flagSet.add("peer-cert-file", usage: "Path to the peer server TLS cert file.") { [unowned self] v in
            config.peerTLS.certFile = v
            return nil
        }
        flagSet.add("peer-key-file", usage: "Path to the peer server TLS key file.") { [unowned self] v in
            config.peerTLS.keyFile = v
            return nil
        }
        flagSet.add("peer-client-cert-auth", usage: "Enable peer client cert authentication.", isBool: true) {
            [unowned self] v in
            guard let b = Self.goBool(v) else { return "parse error" }
            config.peerTLS.clientCertAuth = b
            return nil
        }
        flagSet.add("peer-trusted-ca-file", usage: "Path to the peer server TLS trusted CA file.") { [unowned self] v in
            config.peerTLS.trustedCAFile = v
            return nil
        }
        flagSet.add("peer-auto-tls", usage: "Peer TLS using generated certificates", isBool: true) { [unowned self] v in
            guard let b = Self.goBool(v) else { return "parse error" }
            config.peerAutoTLS = b
            return nil
        }
        flagSet.add(
            "cipher-suites",
            usage:
                "Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go)."
        ) { [unowned self] v in
            // Names are checked at start (TLSSetup), where etcd checks them.
            config.cipherSuites = v.split(separator: ",", omittingEmptySubsequences: true).map(String.init)
            return nil
        }
    }

    /// Go's `strconv.ParseBool`, which etcd's boolean flags and their
    /// `ETCD_*` variables go through (`1`, `t`, `TRUE`, …).
    static func goBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "true", "TRUE", "True": true
        case "0", "f", "F", "false", "FALSE", "False": false
        default: nil
        }
    }
}
