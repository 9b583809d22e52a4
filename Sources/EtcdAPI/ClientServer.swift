import EtcdServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOPosix
import Prometheus

/// Serves etcd's v3 API for one `EtcdServer` on every client URL: gRPC,
/// and on the same port over HTTP/1.1 the JSON gateway, `/health`,
/// `/version` and `/metrics` (`ClientListenerFactory` tells them apart);
/// plus the `--listen-metrics-urls` listeners.
public struct ClientServer: Sendable {
    public let server: EtcdServer
    public let logger: Logger
    /// What `/metrics` shows: the registry the process's metrics factory
    /// writes to.
    public let metricsRegistry: PrometheusCollectorRegistry

    public init(server: EtcdServer, logger: Logger, metricsRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.server = server
        self.logger = logger
        self.metricsRegistry = metricsRegistry
    }

    /// Runs until the task is cancelled or a listener fails.
    public func run() async throws {
        let config = server.config
        // With --client-cert-auth, a call without a token is made by the
        // user its client certificate names (etcd's rule).
        let certificates = ClientCertificateRegistry()
        var credentials = AuthCredentialsInterceptor()
        if config.clientTLS.clientCertAuth {
            credentials.commonName = { certificates.commonName(forPeer: $0.remotePeer) }
        }
        let kv = KVService(server: server)
        let watch = WatchService(server: server)
        let lease = LeaseService(server: server, forwarder: LeaderForwarder(logger: logger, tls: config.clientTLS))
        let cluster = ClusterService(server: server)
        let maintenance = MaintenanceService(server: server)
        let auth = AuthService(server: server)
        let lock = LockService(server: server)
        let election = ElectionService(server: server)
        let services: [any RegistrableRPCService] = [kv, watch, lease, cluster, maintenance, auth, lock, election]
        let interceptors: [any ServerInterceptor] = [GRPCMetricsInterceptor(), credentials]
        let grpcServer = GRPCServerKind.fromEnvironment()
        let leanMethods = LeanRPCMethodTable(services: [kv, watch, lease, cluster, maintenance, auth, lock, election])
        var leanConnection = LeanGRPCConnectionHandler.Configuration(
            maxMessageBytes: Self.maxMessageBytes(maxRequestBytes: config.maxRequestBytes))
        if config.clientTLS.clientCertAuth {
            leanConnection.commonName = { address in
                ClientCertificateRegistry.peerKey(address).flatMap { certificates.commonName(forPeer: $0) }
            }
        }
        // Checked (and the files read) before anything listens, so a bad
        // certificate stops the member with etcd's error.
        let clientTLS = try config.listenClientURLs.contains { $0.scheme == "https" } || config.listenMetricsURLs.contains { $0.scheme == "https" }
            ? ClientListenerTLS.context(config.clientTLS, cipherSuites: config.cipherSuites) : nil
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.run(progressInterval: config.watchProgressNotifyInterval) }
            var gateway: JSONGateway?
            if config.enableGRPCGateway {
                let backend = GatewayServer(
                    services: services, interceptors: interceptors,
                    maxMessageBytes: Self.maxMessageBytes(maxRequestBytes: config.maxRequestBytes))
                group.addTask { try await backend.run() }
                gateway = JSONGateway(client: backend.client, servesAuth: backend.servesAuth)
            }
            let router = ClientPortRouter(gateway: gateway, server: server, registry: metricsRegistry)
            for url in config.listenClientURLs {
                let secure = url.scheme == "https"
                switch grpcServer {
                case .lean:
                    let listener = LeanClientListener(
                        host: Self.bindHost(url), port: url.port, tls: secure ? clientTLS : nil, certificates: certificates,
                        router: router, methods: leanMethods, connection: leanConnection, logger: logger)
                    group.addTask { try await listener.run() }
                case .grpcSwift:
                    let listener = ClientListenerFactory(
                        host: Self.bindHost(url), port: url.port, tls: secure ? clientTLS : nil, certificates: certificates,
                        router: router, logger: logger,
                        eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
                    let transport = HTTP2ServerTransport.Custom(
                        listenerFactory: listener, config: Self.transportConfig(maxRequestBytes: config.maxRequestBytes))
                    let grpc = GRPCServer(transport: transport, services: services, interceptors: interceptors)
                    group.addTask { try await grpc.serve() }
                }
                if secure {
                    logger.info(
                        "serving client traffic securely",
                        metadata: [
                            "address": "\(url)",
                            "client-cert-auth": "\(config.clientTLS.requiresClientCertificate)",
                            "grpc-gateway": "\(config.enableGRPCGateway)",
                            "grpc-server": "\(grpcServer.rawValue)",
                        ])
                } else {
                    logger.info(
                        "serving client traffic insecurely",
                        metadata: [
                            "address": "\(url)", "grpc-gateway": "\(config.enableGRPCGateway)",
                            "grpc-server": "\(grpcServer.rawValue)",
                        ])
                }
            }
            for url in config.listenMetricsURLs {
                let listener = MetricsListener(
                    host: Self.bindHost(url), port: url.port, tls: url.scheme == "https" ? clientTLS : nil,
                    router: MetricsPortRouter(server: server, registry: metricsRegistry), logger: logger)
                group.addTask { try await listener.run() }
            }
        }
    }

    /// Which gRPC server answers on the client URLs: our own (`LeanGRPC/`,
    /// the default) or, with `SWIFT_ETCD_GRPC_SERVER=grpc-swift`, grpc-swift
    /// 2's `GRPCServer` over the Custom transport, kept for A/B comparisons
    /// (Docs/architecture.md, "The lean gRPC server").
    enum GRPCServerKind: String, Sendable {
        case lean
        case grpcSwift = "grpc-swift"

        static let variable = "SWIFT_ETCD_GRPC_SERVER"
        static let `default` = GRPCServerKind.lean

        static func fromEnvironment() -> GRPCServerKind {
            ProcessInfo.processInfo.environment[variable].flatMap(GRPCServerKind.init(rawValue:)) ?? .default
        }
    }

    /// etcd binds `localhost` as the loopback address.
    static func bindHost(_ url: EndpointURL) -> String {
        url.host == "localhost" ? "127.0.0.1" : url.host
    }

    /// The largest request message the transport takes: etcd accepts up to
    /// max-request-bytes plus gRPC overhead at the transport and rejects
    /// oversized requests itself with "request is too large"; a smaller
    /// transport limit resets the stream and Go clients retry forever.
    static func maxMessageBytes(maxRequestBytes: Int) -> Int {
        maxRequestBytes + 512 * 1024
    }

    /// Transport settings etcd's clients depend on.
    static func transportConfig(maxRequestBytes: Int) -> HTTP2ServerTransport.Custom<ClientListenerFactory>.Config {
        var config = HTTP2ServerTransport.Custom<ClientListenerFactory>.Config.defaults
        config.rpc.maxRequestPayloadSize = maxMessageBytes(maxRequestBytes: maxRequestBytes)
        // Go clients ping every 10 s, also between calls (watches, lease
        // keep-alives): allow it, as etcd does, or they get disconnected.
        config.connection.keepalive.clientBehavior = .init(
            minPingIntervalWithoutCalls: .seconds(5), allowWithoutCalls: true)
        return config
    }
}
