import EtcdServer
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging

/// Serves etcd's v3 gRPC API for one `EtcdServer` on every client URL.
public struct ClientServer: Sendable {
    public let server: EtcdServer
    public let logger: Logger

    public init(server: EtcdServer, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    /// Runs until the task is cancelled or a listener fails.
    public func run() async throws {
        let config = server.config
        // With --client-cert-auth, a call without a token is made by the
        // user its client certificate names (etcd's rule).
        var credentials = AuthCredentialsInterceptor()
        if config.clientTLS.clientCertAuth {
            credentials.commonName = { ClientCertificateIdentity.commonName(of: $0) }
        }
        let services: [any RegistrableRPCService] = [
            KVService(server: server),
            WatchService(server: server),
            LeaseService(server: server, forwarder: LeaderForwarder(logger: logger, tls: config.clientTLS)),
            ClusterService(server: server),
            MaintenanceService(server: server),
            AuthService(server: server),
        ]
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.run(progressInterval: config.watchProgressNotifyInterval) }
            if !config.cipherSuites.isEmpty && config.listenClientURLs.contains(where: { $0.scheme == "https" }) {
                logger.warning(
                    "--cipher-suites applies to peer connections only: grpc-swift-nio-transport's TLS configuration has no cipher suite setting, so client connections use BoringSSL's defaults"
                )
            }
            for url in config.listenClientURLs {
                let secure = url.scheme == "https"
                var transportConfig = Self.transportConfig(maxRequestBytes: config.maxRequestBytes)
                if secure {
                    transportConfig.channelDebuggingCallbacks.onAcceptTCPConnection = { [logger] channel in
                        TLSRejectionLogger.install(on: channel, logger: logger)
                    }
                }
                let transport = HTTP2ServerTransport.Posix(
                    address: .ipv4(host: url.host == "localhost" ? "127.0.0.1" : url.host, port: url.port),
                    transportSecurity: secure ? Self.transportSecurity(config.clientTLS) : .plaintext,
                    config: transportConfig)
                let grpc = GRPCServer(
                    transport: transport, services: services, interceptors: [credentials])
                group.addTask { try await grpc.serve() }
                if secure {
                    logger.info(
                        "serving client traffic securely",
                        metadata: [
                            "address": "\(url)",
                            "client-cert-auth": "\(config.clientTLS.requiresClientCertificate)",
                        ])
                } else {
                    logger.info("serving client traffic insecurely", metadata: ["address": "\(url)"])
                }
            }
        }
    }

    /// TLS for an `https` client URL, with etcd's rule: a certificate is
    /// demanded from every client, and checked against the trusted CA, when
    /// a CA file is given or `--client-cert-auth` is on (TLS 1.2 at least,
    /// as etcd; grpc-swift-nio-transport sets that and the ALPN protocols).
    static func transportSecurity(_ tls: TLSInfo) -> HTTP2ServerTransport.Posix.TransportSecurity {
        .tls(
            certificateChain: [.file(path: tls.certFile, format: .pem)],
            privateKey: .file(path: tls.keyFile, format: .pem)
        ) { config in
            guard tls.requiresClientCertificate else { return }
            config.clientCertificateVerification = .noHostnameVerification
            config.trustRoots =
                tls.trustedCAFile.isEmpty ? .systemDefault : .certificates([.file(path: tls.trustedCAFile, format: .pem)])
        }
    }

    /// Transport settings etcd's clients depend on.
    static func transportConfig(maxRequestBytes: Int) -> HTTP2ServerTransport.Posix.Config {
        .defaults { config in
            // etcd accepts up to max-request-bytes plus gRPC overhead at the
            // transport and rejects oversized requests itself with "request
            // is too large"; a smaller transport limit resets the stream and
            // Go clients retry forever.
            config.rpc.maxRequestPayloadSize = maxRequestBytes + 512 * 1024
            // Go clients ping every 10 s, also between calls (watches, lease
            // keep-alives): allow it, as etcd does, or they get disconnected.
            config.connection.keepalive.clientBehavior = .init(
                minPingIntervalWithoutCalls: .seconds(5), allowWithoutCalls: true)
        }
    }
}
