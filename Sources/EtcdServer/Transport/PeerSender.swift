import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Raft

/// The single writer of one outbound stream to one peer: its queue, its connection, its
/// reconnect schedule, and the snapshot it is sending.
///
/// Confined to the transport's owner event loop. The outbound channel is created on that
/// same loop, so channel callbacks, timers and `send` batches all run there in turn and the
/// state needs no lock. Every callback carries the `generation` of the connection attempt it
/// belongs to, so a late callback from a connection that was already replaced is ignored.
final class PeerSender {
    let peerID: NodeID
    let address: PeerAddress
    private let env: TransportEnvironment
    private let logger: Logger

    private enum State {
        /// Created, not yet told to connect. Messages queue.
        case idle
        /// Dialing or handshaking. Messages queue (bounded) and go out once accepted.
        case connecting(channel: Channel?)
        case connected(Channel)
        /// Waiting to redial after a failure. The peer is down: messages are dropped.
        case backingOff(Scheduled<Void>)
        case stopped
    }

    private var state = State.idle
    private var queue = OutboundQueue()
    private var backoff: Backoff
    private var generation: UInt64 = 0
    private var nextTransferID: UInt64 = 1
    /// A snapshot chunk was written and the next one waits for a later loop turn.
    private var chunkTurnPending = false
    private var lastUnreachableReport: NIODeadline?
    private var droppedSinceReport = 0
    /// Consecutive failed attempts since the last accepted handshake; only the first is a warning.
    private var failedAttempts = 0
    private var lastRejection: PeerRejection?
    /// The last TLS failure logged as a warning, so a repeating one is logged at debug.
    private var lastTLSFailure: TLSFailure?

    init(peerID: NodeID, address: PeerAddress, env: TransportEnvironment) {
        self.peerID = peerID
        self.address = address
        self.env = env
        var logger = env.logger(peer: peerID, direction: "outbound")
        logger[metadataKey: "remote-address"] = "\(address)"
        self.logger = logger
        // Mix the peer ID into the seed so that one member's streams do not redial in step.
        self.backoff = Backoff(
            initial: env.options.initialBackoff, maximum: env.options.maxBackoff,
            seed: env.options.backoffSeed ^ (peerID &* 0x9E37_79B9_7F4A_7C15))
    }

    private var loop: NIOIsolatedEventLoop { env.ownerLoop.assumeIsolated() }

    // MARK: Queueing

    /// Queues one framed regular message; `drain()` writes it.
    func enqueue(message frame: ByteBuffer) {
        switch state {
        case .stopped:
            return
        case .backingOff:
            dropped(count: 1, why: "the peer is unreachable")
        case .idle, .connecting, .connected:
            let options = env.options
            if !queue.appendMessage(frame, maxMessages: options.maxQueuedMessages, maxBytes: options.maxQueuedBytes) {
                dropped(count: 1, why: "sending buffer is full (overloaded network)", level: .warning)
            }
        }
    }

    /// Queues one `MsgSnap` encoding; its outcome is reported as `.snapshotSent`.
    func enqueue(snapshot encoding: ByteBuffer) {
        let snapshot = OutgoingSnapshot(transferID: nextTransferID, encoding: encoding)
        nextTransferID &+= 1
        switch state {
        case .stopped:
            return
        case .backingOff:
            dropped(count: 1, why: "the peer is unreachable")
            snapshotFinished(snapshot, failed: true)
        case .idle, .connecting, .connected:
            if !queue.appendSnapshot(snapshot, limit: 1 + env.options.maxQueuedSnapshots) {
                logger.warning("dropped snapshot message since another snapshot is still being sent")
                snapshotFinished(snapshot, failed: true)
            }
        }
    }

    /// Writes what the connection can take now: regular messages first, then at most one
    /// snapshot chunk per loop turn, so messages queued meanwhile overtake the rest of it.
    func drain() {
        guard case let .connected(channel) = state else { return }
        var wrote = false
        while channel.isWritable, let frame = queue.popMessage() {
            channel.write(frame, promise: nil)
            wrote = true
        }
        if channel.isWritable, !queue.hasMessages, !chunkTurnPending,
           let (frame, finished) = queue.nextSnapshotFrame(
               chunkSize: env.options.snapshotChunkSize, allocator: env.allocator)
        {
            if let finished {
                let promise = env.ownerLoop.makePromise(of: Void.self)
                channel.write(frame, promise: promise)
                promise.futureResult.assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success: snapshotFinished(finished, failed: false)
                    case .failure: snapshotFinished(finished, failed: true)
                    }
                }
            } else {
                channel.write(frame, promise: nil)
            }
            wrote = true
            chunkTurnPending = true
            loop.execute { [self] in
                chunkTurnPending = false
                drain()
            }
        }
        if wrote { channel.flush() }
    }

    // MARK: Connection lifecycle

    /// Starts dialing (from `idle` only; later attempts come from the backoff timer).
    func start() {
        guard case .idle = state else { return }
        dial()
    }

    private func dial() {
        generation &+= 1
        let attempt = generation
        state = .connecting(channel: nil)
        let bound = NIOLoopBound(self, eventLoop: env.ownerLoop)
        let maxFrameSize = env.options.maxFrameSize
        let address = address
        let tls = address.usesTLS ? env.tls?.client : nil
        if address.usesTLS && tls == nil {
            attemptFailed(attempt, reason: "the peer URL is https but this member has no peer TLS configuration")
            return
        }
        ClientBootstrap(group: env.ownerLoop)
            .connectTimeout(env.options.dialTimeout)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The hello written on channelActive waits inside the TLS handler until
                    // the handshake completes; a failed handshake reaches connectionError.
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: address.serverNameIndication))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(PeerFrameDecoder(maxFrameSize: maxFrameSize)),
                        DialerHandler(sender: bound.value, generation: attempt))
                }
            }
            .connect(host: address.host, port: address.port)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case let .success(channel):
                    guard attempt == generation, case .connecting = state else {
                        channel.close(promise: nil)
                        return
                    }
                    state = .connecting(channel: channel)
                case let .failure(error):
                    attemptFailed(attempt, reason: "\(error)")
                }
            }
    }

    /// The handshake frame every dialer sends first.
    var hello: PeerHello { PeerHello(clusterID: env.clusterID, from: env.localID, to: peerID) }

    var handshakeTimeout: TimeAmount { env.options.handshakeTimeout }

    func handshakeAccepted(_ attempt: UInt64, channel: Channel) {
        guard attempt == generation, case .connecting = state else {
            channel.close(promise: nil)
            return
        }
        state = .connected(channel)
        backoff.reset()
        failedAttempts = 0
        lastRejection = nil
        lastTLSFailure = nil
        lastUnreachableReport = nil
        logger.info("established TCP streaming connection with remote peer")
        env.events.yield(.active(peerID))
        drain()
    }

    func handshakeRejected(_ attempt: UInt64, rejection: PeerRejection) {
        guard attempt == generation else { return }
        if rejection != lastRejection {
            logger.warning("remote peer rejected our connection: \(rejection)")
        } else {
            logger.debug("remote peer rejected our connection again: \(rejection)")
        }
        lastRejection = rejection
        env.events.yield(.rejected(peerID, rejection))
        // The dialer handler closes the channel; `connectionClosed` then backs off.
    }

    func writabilityChanged(_ attempt: UInt64) {
        guard attempt == generation else { return }
        drain()
    }

    /// A broken protocol is a bug or a misconfiguration worth an error; a reset socket is
    /// ordinary and `connectionClosed` reports it.
    func connectionError(_ attempt: UInt64, _ error: any Error) {
        guard attempt == generation else { return }
        if let failure = TLSFailure(error) {
            // Worth a warning once per streak: a wrong CA or certificate does not heal by itself.
            let level: Logger.Level = lastTLSFailure != failure ? .warning : .debug
            lastTLSFailure = failure
            logger.log(level: level, "TLS handshake with remote peer failed", metadata: ["error": "\(failure)"])
        } else if error is PeerProtocolError || error is ByteToMessageDecoderError {
            logger.error("closing connection to remote peer after protocol error", metadata: ["error": "\(error)"])
        } else {
            logger.debug("connection to remote peer failed", metadata: ["error": "\(error)"])
        }
    }

    func connectionClosed(_ attempt: UInt64) {
        guard attempt == generation else { return }
        switch state {
        case .connected:
            logger.warning("lost TCP streaming connection with remote peer")
            let (messages, snapshots) = queue.removeAll()
            droppedSinceReport += messages + snapshots.count
            reportUnreachable(force: true, why: "the connection was lost")
            for snapshot in snapshots { snapshotFinished(snapshot, failed: true) }
            scheduleRedial()
        case .connecting:
            attemptFailed(attempt, reason: "connection closed during handshake")
        case .idle, .backingOff, .stopped:
            break
        }
    }

    private func attemptFailed(_ attempt: UInt64, reason: String) {
        guard attempt == generation, case .connecting = state else { return }
        failedAttempts += 1
        if failedAttempts == 1 && lastRejection == nil {
            logger.warning("failed to connect to remote peer", metadata: ["error": "\(reason)"])
        } else {
            logger.debug("failed to connect to remote peer", metadata: ["error": "\(reason)", "attempts": "\(failedAttempts)"])
        }
        let (messages, snapshots) = queue.removeAll()
        if messages + snapshots.count > 0 {
            dropped(count: messages + snapshots.count, why: "the peer is unreachable")
        }
        for snapshot in snapshots { snapshotFinished(snapshot, failed: true) }
        scheduleRedial()
    }

    private func scheduleRedial() {
        let delay = backoff.nextDelay()
        logger.debug("reconnecting to remote peer after backoff", metadata: ["delay-ms": "\(delay.nanoseconds / 1_000_000)"])
        let timer = loop.scheduleTask(in: delay) { [self] in
            guard case .backingOff = state else { return }
            dial()
        }
        state = .backingOff(timer)
    }

    /// Closes the stream for good (transport stopped, or the peer left the cluster). Queued
    /// snapshots are reported failed; the returned future completes when the socket is closed.
    func stop() -> EventLoopFuture<Void> {
        let previous = state
        state = .stopped
        generation &+= 1
        let (_, snapshots) = queue.removeAll()
        for snapshot in snapshots { snapshotFinished(snapshot, failed: true) }
        switch previous {
        case let .connected(channel), let .connecting(channel?):
            let promise = env.ownerLoop.makePromise(of: Void.self)
            channel.close(promise: promise)
            // Closing an already-closed channel fails; either way it is closed now.
            return promise.futureResult.recover { _ in }
        case let .backingOff(timer):
            timer.cancel()
        case .idle, .connecting, .stopped:
            break
        }
        return env.ownerLoop.makeSucceededVoidFuture()
    }

    // MARK: Reporting

    private func dropped(count: Int, why: String, level: Logger.Level = .debug) {
        droppedSinceReport += count
        reportUnreachable(force: false, why: why, level: level)
    }

    /// Tells the server the peer missed messages. Rate-limited per peer: Raft only needs to
    /// hear it again after it has had time to react (move the peer back to probing).
    private func reportUnreachable(force: Bool, why: String, level: Logger.Level = .debug) {
        let now = NIODeadline.now()
        if !force, let last = lastUnreachableReport, now - last < env.options.unreachableReportInterval { return }
        lastUnreachableReport = now
        if droppedSinceReport > 0 {
            logger.log(
                level: level, "dropped internal Raft messages since \(why)",
                metadata: ["dropped": "\(droppedSinceReport)"])
        }
        droppedSinceReport = 0
        env.events.yield(.unreachable(peerID))
    }

    private func snapshotFinished(_ snapshot: OutgoingSnapshot, failed: Bool) {
        if failed {
            logger.warning("failed to send snapshot message", metadata: ["bytes": "\(snapshot.encoding.readableBytes)"])
        } else {
            logger.info("sent snapshot message", metadata: ["bytes": "\(snapshot.encoding.readableBytes)"])
        }
        env.events.yield(.snapshotSent(peerID, failed: failed))
    }
}
