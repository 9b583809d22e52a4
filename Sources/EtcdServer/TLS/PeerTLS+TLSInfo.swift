extension PeerTLS {
    /// The contexts for `--peer-*` files (already completed by auto TLS).
    public init(info: TLSInfo, cipherSuites: CipherSuites) throws(TLSSetupError) {
        let server =
            info.isEmpty ? nil : try TLSConfigurations.context(TLSConfigurations.server(info, cipherSuites: cipherSuites))
        self.init(
            server: server, client: try TLSConfigurations.context(TLSConfigurations.client(info, cipherSuites: cipherSuites)))
    }
}
