import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A `--listen-metrics-urls` listener: HTTP/1.1 only, `/metrics` and
/// `/health` (etcd's `serveMetrics`), so monitoring can reach a port that
/// is not the client API and need no client certificate there.
struct MetricsListener: Sendable {
    let host: String
    let port: Int
    /// Nil for an `http` URL; an `https` one uses the client TLS files.
    let tls: NIOSSLContext?
    let router: MetricsPortRouter
    let logger: Logger
    var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    /// Serves until the task is cancelled.
    func run() async throws {
        let tls = tls
        let router = router
        let logger = logger
        let channel = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(HTTPConnectionHandler(router: router, logger: logger))
                }
            }
            .bind(host: host, port: port).get()
        logger.info("serving metrics", metadata: ["address": "\(tls == nil ? "http" : "https")://\(host):\(port)"])
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}
