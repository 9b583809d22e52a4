import Logging
import NIOCore
import NIOSSL

/// Logs a connection whose TLS handshake the server refused (no client
/// certificate, one from another CA) with etcd's "rejected connection"
/// warning, then passes the error on. gRPC's transport closes such
/// connections silently; an operator needs to see why a client cannot
/// connect, and a stream of these is how a probe or a misconfigured client
/// shows up.
public final class TLSRejectionLogger: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer

    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let failure = TLSFailure(error) {
            logger.warning(
                "rejected connection",
                metadata: [
                    "remote-addr": "\(context.channel.remoteAddress.map { "\($0)" } ?? "unknown")",
                    "error": "\(failure)",
                ])
        }
        context.fireErrorCaught(error)
    }

    /// Places a logger right behind the channel's `NIOSSLServerHandler`, if
    /// it has one; meant for grpc-swift-nio-transport's
    /// `onAcceptTCPConnection` callback, which sees every accepted channel.
    public static func install(on channel: any Channel, logger: Logger) -> EventLoopFuture<Void> {
        channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            guard let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) else { return }
            try pipeline.addHandler(TLSRejectionLogger(logger: logger), position: .after(tls))
        }
    }
}
