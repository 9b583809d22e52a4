import Logging

/// The TLS checks and preparations etcd makes before it listens
/// (`embed.configurePeerListeners`, then `configureClientListeners`), in
/// the same order and with the same error texts, so that a bad TLS
/// configuration stops swift-etcd before it touches the data directory.
public enum TLSSetup {
    /// Validates `--cipher-suites`, generates auto-TLS certificates, checks
    /// that every `https` URL has a certificate and that the files load;
    /// returns `config` with the generated files filled in.
    public static func prepare(_ config: ServerConfig, logger: Logger) throws(TLSSetupError) -> ServerConfig {
        var config = config
        let cipherSuites = try CipherSuites.parse(config.cipherSuites)

        if config.peerAutoTLS {
            config.peerTLS = try autoTLS(
                given: config.peerTLS, side: "peer", dataDir: config.dataDir, urls: config.listenPeerURLs, logger: logger)
        }
        if !config.peerTLS.isEmpty {
            _ = try PeerTLS(info: config.peerTLS, cipherSuites: cipherSuites)
            logger.info(
                "starting with peer TLS",
                metadata: ["tls-info": "\(config.peerTLS)", "cipher-suites": "\(config.cipherSuites)"])
        }
        for url in config.listenPeerURLs {
            try check(url, tls: config.peerTLS, side: "peer", logger: logger) { url in
                "cannot listen on TLS for \(url.host):\(url.port): KeyFile and CertFile are not presented"
            }
        }

        if config.clientAutoTLS {
            config.clientTLS = try autoTLS(
                given: config.clientTLS, side: "client", dataDir: config.dataDir, urls: config.listenClientURLs,
                logger: logger)
        }
        if !config.clientTLS.isEmpty {
            // Load the files once here so a bad one is a startup error,
            // not a failure on every client connection.
            _ = try TLSConfigurations.context(TLSConfigurations.server(config.clientTLS, cipherSuites: cipherSuites))
            logger.info(
                "starting with client TLS",
                metadata: ["tls-info": "\(config.clientTLS)", "cipher-suites": "\(config.cipherSuites)"])
        }
        for url in config.listenClientURLs {
            try check(url, tls: config.clientTLS, side: "client", logger: logger) { url in
                "TLS key/cert (--cert-file, --key-file) must be provided for client url \(url) with HTTPS scheme"
            }
        }
        return config
    }

    /// etcd's `ClientSelfCert`/`PeerSelfCert`: given files win, with a warning.
    private static func autoTLS(
        given: TLSInfo, side: String, dataDir: String, urls: [EndpointURL], logger: Logger
    ) throws(TLSSetupError) -> TLSInfo {
        guard given.isEmpty else {
            logger.warning("ignoring \(side) auto TLS since certs given")
            return given
        }
        var info = try SelfSignedCertificate.ensure(
            in: dataDir + "/fixtures/" + side, hosts: urls.map(\.host), logger: logger)
        // Flags that still apply to a generated certificate.
        info.trustedCAFile = given.trustedCAFile
        info.clientCertAuth = given.clientCertAuth
        return info
    }

    /// An `https` URL needs a certificate; an `http` one ignores it (warned).
    private static func check(
        _ url: EndpointURL, tls: TLSInfo, side: String, logger: Logger, missing: (EndpointURL) -> String
    ) throws(TLSSetupError) {
        switch url.scheme {
        case "https", "unixs":
            if tls.isEmpty { throw TLSSetupError(missing(url)) }
        default:
            if !tls.isEmpty {
                logger.warning(
                    "scheme is HTTP while key and cert files are present; ignoring key and cert files",
                    metadata: ["\(side)-url": "\(url)"])
            }
            if tls.clientCertAuth {
                let flag = side == "peer" ? "--peer-client-cert-auth" : "--client-cert-auth"
                logger.warning(
                    "scheme is HTTP while \(flag) is enabled; ignoring client cert auth for this URL",
                    metadata: ["\(side)-url": "\(url)"])
            }
        }
    }
}
