import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

/// The listener of one client URL with the lean gRPC server: the same
/// connection setup as `ClientListenerFactory` (TLS, the protocol sniffer,
/// HTTP/1.1 for the gateway, `/health` and `/metrics`), but an HTTP/2
/// connection gets swift-nio-http2's frame handler and
/// `LeanGRPCConnectionHandler` instead of grpc-swift's transport.
struct LeanClientListener: Sendable {
    let host: String
    let port: Int
    /// Nil for an `http` URL.
    let tls: NIOSSLContext?
    let certificates: ClientCertificateRegistry
    let router: any HTTPRouter
    let methods: LeanRPCMethodTable
    let connection: LeanGRPCConnectionHandler.Configuration
    let logger: Logger
    var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    /// Serves until the task is cancelled; then stops accepting, sends each
    /// gRPC connection GOAWAY and waits (within the configured grace) for
    /// the connections to close.
    func run() async throws {
        let open = OpenConnections()
        let listener = try await bootstrap(tracking: open).bind(host: host, port: port).get()
        await withTaskCancellationHandler {
            try? await listener.closeFuture.get()
        } onCancel: {
            listener.close(promise: nil)
            open.quiesceAll()
        }
        // Whatever has not closed by then (an HTTP/1.1 watch, say) is closed.
        let deadline = eventLoopGroup.any().scheduleTask(in: connection.shutdownGrace + .seconds(1)) { open.closeAll() }
        for channel in open.all {
            try? await channel.closeFuture.get()
        }
        deadline.cancel()
    }

    func bootstrap(tracking open: OpenConnections) -> ServerBootstrap {
        let (tls, certificates, router, logger) = (tls, certificates, router, logger)
        let (methods, connection) = (methods, connection)
        return ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                open.add(channel)
                return ClientListenerFactory.configureConnection(
                    channel, tls: tls, certificates: certificates, logger: logger,
                    makeSniffer: {
                        ProtocolSniffer(
                            installHTTP2: { context in
                                try Self.installHTTP2(after: context, methods: methods, configuration: connection, logger: logger)
                            },
                            installHTTP1: { context in
                                try ClientListenerFactory.installHTTP1(after: context, router: router, logger: logger)
                            })
                    })
            }
    }

    /// NIOHTTP2Handler without a stream multiplexer (frames go on, tagged
    /// with their stream), then the gRPC connection handler.
    static func installHTTP2(
        after context: ChannelHandlerContext, methods: LeanRPCMethodTable,
        configuration: LeanGRPCConnectionHandler.Configuration, logger: Logger
    ) throws {
        let pipeline = context.pipeline.syncOperations
        let pings = PingPolicy(minInterval: configuration.minPingInterval)
        try pipeline.addHandler(
            LeanGRPCConnectionHandler(methods: methods, configuration: configuration, pings: pings, logger: logger),
            position: .after(context.handler))
        try pipeline.addHandler(http2Handler(configuration, pings: pings), position: .after(context.handler))
    }

    static func http2Handler(_ configuration: LeanGRPCConnectionHandler.Configuration, pings: PingPolicy) -> NIOHTTP2Handler {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = configuration.http2Settings
        // Go clients send a PING whenever data reaches them and none is
        // outstanding (grpc-go's BDP estimation), so a busy connection pings
        // far more often than NIO's default limit of 200 control frames in
        // 30 s; PingPolicy enforces gRPC's own rule instead.
        connection.controlFrameRateLimit.maximumCount = 10_000
        connection.controlFrameRateLimit.windowLength = .seconds(1)
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = configuration.streamWindow
        return NIOHTTP2Handler(mode: .server, frameDelegate: pings, connectionConfiguration: connection, streamConfiguration: stream)
    }
}

/// The accepted connections of one listener, so that shutdown can reach
/// them; each leaves when it closes.
final class OpenConnections: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLockedValue { $0[key] = channel }
        channel.closeFuture.whenComplete { [channels] _ in
            _ = channels.withLockedValue { $0.removeValue(forKey: key) }
        }
    }

    var all: [any Channel] { channels.withLockedValue { Array($0.values) } }

    /// gRPC connections send GOAWAY and close when their calls are done
    /// (`ChannelShouldQuiesceEvent`, which the HTTP/1.1 handler also obeys).
    func quiesceAll() {
        for channel in all {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func closeAll() {
        for channel in all { channel.close(promise: nil) }
    }
}
