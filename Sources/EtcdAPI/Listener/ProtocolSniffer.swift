import NIOCore

/// Decides, from a connection's first bytes, whether it speaks HTTP/2 (gRPC)
/// or HTTP/1.1 (the JSON gateway, `/health`, `/version`, `/metrics`), as
/// etcd's cmux does on its client port.
///
/// It sits in front of the gRPC transport's handlers and keeps them unaware
/// of the connection until it has decided: `channelActive` (on which the
/// HTTP/2 handler would send its SETTINGS) and the bytes read so far are
/// held back. An HTTP/2 client starts with the 24-byte connection preface;
/// anything else that differs from it is HTTP/1.1. Then:
/// - HTTP/2: `channelActive` and the held bytes go on to the gRPC handlers
///   (after what `installHTTP2` adds in front of them) and the sniffer
///   leaves, costing nothing afterwards;
/// - HTTP/1.1: `installHTTP1` puts the HTTP/1.1 handlers between the
///   sniffer and the gRPC handlers (the last of them terminates inbound
///   traffic, so the gRPC handlers never see a byte), then the same replay.
///
/// A connection that sends nothing within `timeout` is closed, so idle
/// sockets cannot pile up before anyone knows what they are.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The HTTP/2 client connection preface (RFC 9113, section 3.4).
    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum Kind: Sendable, Equatable { case http2, http1 }

    private let installHTTP1: (ChannelHandlerContext) throws -> Void
    private let installHTTP2: (ChannelHandlerContext) throws -> Void
    private let timeout: TimeAmount
    private var buffered: ByteBuffer?
    private var activeHeld = false
    private var timer: Scheduled<Void>?
    private var decided = false

    /// `installHTTP1` adds the HTTP/1.1 handlers right after the sniffer
    /// (`.after(context.handler)`), synchronously; `installHTTP2` likewise
    /// adds what HTTP/2 connections need in front of the gRPC handlers.
    init(
        timeout: TimeAmount = .seconds(30),
        installHTTP2: @escaping (ChannelHandlerContext) throws -> Void = { _ in },
        installHTTP1: @escaping (ChannelHandlerContext) throws -> Void
    ) {
        self.timeout = timeout
        self.installHTTP1 = installHTTP1
        self.installHTTP2 = installHTTP2
    }

    /// The protocol `bytes` begin with, or nil while they are a proper
    /// prefix of the HTTP/2 preface (more bytes needed).
    static func classify(_ bytes: some Collection<UInt8>) -> Kind? {
        let head = bytes.prefix(http2Preface.count)
        guard head.elementsEqual(http2Preface.prefix(head.count)) else { return .http1 }
        return head.count == http2Preface.count ? .http2 : nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        activeHeld = true
        startTimer(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if buffered == nil {
            buffered = bytes
        } else {
            buffered?.writeBuffer(&bytes)
        }
        guard let buffered, let kind = Self.classify(buffered.readableBytesView) else { return }
        decide(kind, context: context)
    }

    /// Nothing to pass on before the decision: the gRPC handlers would flush
    /// on a read completion they never saw the read of.
    func channelReadComplete(context: ChannelHandlerContext) {
        if decided { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    private func startTimer(context: ChannelHandlerContext) {
        guard timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, !self.decided else { return }
            context.close(promise: nil)
        }
    }

    private func decide(_ kind: Kind, context: ChannelHandlerContext) {
        decided = true
        timer?.cancel()
        do {
            try kind == .http1 ? installHTTP1(context) : installHTTP2(context)
        } catch {
            context.close(promise: nil)
            return
        }
        if activeHeld { context.fireChannelActive() }
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(bytes))
        }
        context.fireChannelReadComplete()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
