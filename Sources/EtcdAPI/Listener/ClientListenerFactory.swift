import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import EtcdServer

/// The listener of one client URL: gRPC and HTTP/1.1 on one port, as etcd
/// serves them.
///
/// grpc-swift-nio-transport's `HTTP2ServerTransport.Custom` lets us own the
/// `ServerBootstrap` (a `ListenerFactory`), so every accepted connection is
/// set up as the stock transport sets it up (TLS, then the transport's
/// HTTP/2 and gRPC handlers) with one addition in front of the gRPC
/// handlers: a `ProtocolSniffer`, which leaves at once on HTTP/2 and puts
/// the HTTP/1.1 server in front of the (then idle) gRPC handlers otherwise.
/// gRPC connections thus pay one look at their first bytes and nothing
/// afterwards: no proxy hop, no second socket (Docs/architecture.md has the
/// measurement).
struct ClientListenerFactory: HTTP2ServerTransport.ListenerFactory {
    let host: String
    let port: Int
    /// Nil for an `http` URL.
    let tls: NIOSSLContext?
    /// Where the CN of each TLS client's certificate is recorded for auth.
    let certificates: ClientCertificateRegistry
    let router: any HTTPRouter
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup

    func makeListeningChannel(
        listenerConfigurator: HTTP2ServerTransport.ListenerConfigurator,
        connectionConfigurator: HTTP2ServerTransport.ConnectionConfigurator
    ) async throws -> NIOAsyncChannel<HTTP2ServerTransport.ConnectionConfigurator.ConnectionChannel, Never> {
        let tls = tls
        let certificates = certificates
        let router = router
        let logger = logger
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in listenerConfigurator.configure(channel: channel) }
            .bind(host: host, port: port) { channel in
                Self.configureConnection(
                    channel, tls: tls, certificates: certificates, logger: logger,
                    makeSniffer: {
                        ProtocolSniffer(
                            installHTTP2: { context in
                                // grpc-swift's HTTP/2 handler would count Go
                                // clients' BDP pings as a flood.
                                try context.pipeline.syncOperations.addHandler(
                                    HTTP2PingAnswerer(), position: .after(context.handler))
                            },
                            installHTTP1: { context in try Self.installHTTP1(after: context, router: router, logger: logger) })
                    }
                ).flatMap {
                    connectionConfigurator.configure(channel: channel, tls: tls == nil ? .none : .configured(requireALPN: false))
                }
            }
    }

    /// What every client connection gets first, whichever gRPC server is
    /// behind: TLS (with the certificate recorder and the rejection log) for
    /// an `https` URL, then the sniffer that tells HTTP/2 from HTTP/1.1.
    static func configureConnection(
        _ channel: any Channel, tls: NIOSSLContext?, certificates: ClientCertificateRegistry, logger: Logger,
        makeSniffer: @escaping @Sendable () -> ProtocolSniffer
    ) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            if let tls {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                try channel.pipeline.syncOperations.addHandler(ClientCertificateRecorder(registry: certificates))
            }
        }.flatMap {
            tls == nil
                ? channel.eventLoop.makeSucceededVoidFuture()
                : TLSRejectionLogger.install(on: channel, logger: logger)
        }.flatMapThrowing {
            try channel.pipeline.syncOperations.addHandler(makeSniffer())
        }
    }

    /// The HTTP/1.1 server, between the sniffer and the gRPC handlers.
    static func installHTTP1(after context: ChannelHandlerContext, router: any HTTPRouter, logger: Logger) throws {
        let pipeline = context.pipeline.syncOperations
        try pipeline.addHandler(HTTPConnectionHandler(router: router, logger: logger), position: .after(context.handler))
        try pipeline.configureHTTPServerPipeline(position: .after(context.handler), withErrorHandling: true)
    }
}
