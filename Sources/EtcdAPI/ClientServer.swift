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
        let services: [any RegistrableRPCService] = [
            KVService(server: server),
            WatchService(server: server),
            LeaseService(server: server, forwarder: LeaderForwarder(logger: logger)),
            ClusterService(server: server),
            MaintenanceService(server: server),
            AuthService(server: server),
        ]
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.run(progressInterval: config.watchProgressNotifyInterval) }
            for url in config.listenClientURLs {
                let transport = HTTP2ServerTransport.Posix(
                    address: .ipv4(host: url.host == "localhost" ? "127.0.0.1" : url.host, port: url.port),
                    transportSecurity: .plaintext,
                    config: Self.transportConfig(maxRequestBytes: config.maxRequestBytes))
                let grpc = GRPCServer(
                    transport: transport, services: services, interceptors: [AuthCredentialsInterceptor()])
                group.addTask { try await grpc.serve() }
                logger.info("serving client traffic insecurely", metadata: ["address": "\(url)"])
            }
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
