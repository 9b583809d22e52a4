import NIOCore
import Raft

/// The set of open inbound connections, kept on the owner loop so that `stop()` can close
/// them all and a peer's new stream replaces its old one (two live streams from one peer
/// could interleave its messages). Acceptor handlers on other loops report through the
/// `Sendable` `InboundRegistry` handle, which hops to the owner loop in call order.
final class InboundConnections {
    private var channels: [ObjectIdentifier: any Channel] = [:]
    private var byPeer: [NodeID: any Channel] = [:]
    private var isClosed = false

    func opened(_ channel: any Channel) {
        guard !isClosed else {
            channel.close(promise: nil)
            return
        }
        channels[ObjectIdentifier(channel)] = channel
    }

    func established(_ channel: any Channel, peer: NodeID) {
        guard !isClosed else { return }
        if let old = byPeer[peer], old !== channel { old.close(promise: nil) }
        byPeer[peer] = channel
    }

    func closed(_ channel: any Channel) {
        channels[ObjectIdentifier(channel)] = nil
        for (peer, current) in byPeer where current === channel { byPeer[peer] = nil }
    }

    /// Closes every connection and refuses later ones.
    func closeAll(on loop: any EventLoop) -> EventLoopFuture<Void> {
        isClosed = true
        let closing = channels.values.map { channel in
            let promise = loop.makePromise(of: Void.self)
            channel.close(promise: promise)
            return promise.futureResult.recover { _ in }
        }
        channels = [:]
        byPeer = [:]
        return EventLoopFuture.andAllComplete(closing, on: loop)
    }
}

/// A thread-safe handle on `InboundConnections` for handlers running on other loops.
struct InboundRegistry: Sendable {
    let box: NIOLoopBoundBox<InboundConnections>

    func opened(_ channel: any Channel) {
        box.eventLoop.execute { box.value.opened(channel) }
    }

    func established(_ channel: any Channel, peer: NodeID) {
        box.eventLoop.execute { box.value.established(channel, peer: peer) }
    }

    func closed(_ channel: any Channel) {
        box.eventLoop.execute { box.value.closed(channel) }
    }
}
