import NIOCore
import NIOPosix
import NIOSSL
import Raft

/// How a member started with `--initial-cluster-state existing` learns the
/// ID of the cluster it joins: it greets an existing member with cluster ID
/// 0, which no cluster has, and the refusal names the acceptor's cluster ID
/// (etcd fetches the whole member list over its peer HTTP API instead).
enum ClusterIDDiscovery {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Asks the member `peerID` at `address` for its cluster ID; an `https` address is
    /// dialed with `tls` (the member's peer certificate), as the transport would.
    static func fetch(
        from address: PeerAddress, localID: NodeID, peerID: NodeID, tls: PeerTLS? = nil,
        timeout: TimeAmount = .seconds(2), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> UInt64 {
        let context = address.usesTLS ? tls?.client : nil
        if address.usesTLS && context == nil {
            throw Failure(description: "the peer URL is https but this member has no peer TLS configuration")
        }
        let loop = group.next()
        let promise = loop.makePromise(of: UInt64.self)
        let hello = PeerHello(clusterID: 0, from: localID, to: peerID)
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: address.serverNameIndication))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(PeerFrameDecoder(maxFrameSize: 4096)),
                        DiscoveryHandler(hello: hello, promise: promise))
                }
            }
            .connect(host: address.host, port: address.port).get()
        let timer = loop.scheduleTask(in: timeout) {
            promise.fail(Failure(description: "no answer from \(address) within \(timeout)"))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }
}

/// Sends the hello and completes the promise with the reply's cluster ID.
private final class DiscoveryHandler: ChannelInboundHandler {
    typealias InboundIn = PeerFrame
    typealias OutboundOut = ByteBuffer

    private let hello: PeerHello
    private let promise: EventLoopPromise<UInt64>

    init(hello: PeerHello, promise: EventLoopPromise<UInt64>) {
        self.hello = hello
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        let frame = PeerFrame.hello(hello).encoded(allocator: context.channel.allocator)
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .helloReply(let reply) = Self.unwrapInboundIn(data), reply.clusterID != 0 {
            promise.succeed(reply.clusterID)
        } else {
            promise.fail(ClusterIDDiscovery.Failure(description: "unexpected answer to a cluster ID query"))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ClusterIDDiscovery.Failure(description: "connection closed before an answer"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(TLSFailure(error) ?? error)
        context.close(promise: nil)
    }
}
