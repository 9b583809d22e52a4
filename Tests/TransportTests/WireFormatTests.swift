import NIOCore
import NIOEmbedded
import Raft
import Testing

#if canImport(PeerTransport)
@testable import PeerTransport
#else
@testable import EtcdServer
#endif

@Suite("Peer wire format")
struct WireFormatTests {
    private func roundTrip(_ frame: PeerFrame) throws -> PeerFrame {
        var buffer = ByteBuffer()
        frame.write(to: &buffer)
        let length = buffer.readInteger(as: UInt32.self)
        #expect(length.map(Int.init) == buffer.readableBytes)
        return try PeerFrame(body: &buffer)
    }

    @Test func framesRoundTrip() throws {
        let hello = PeerFrame.hello(PeerHello(clusterID: 0xABCD, from: 1, to: 0xFFFF_FFFF_FFFF_FFFF))
        #expect(try roundTrip(hello) == hello)
        let reply = PeerFrame.helloReply(PeerHelloReply(version: 1, status: .clusterIDMismatch, clusterID: 9, memberID: 2))
        #expect(try roundTrip(reply) == reply)
        let message = PeerFrame.message(ByteBuffer(bytes: heartbeat(from: 1, to: 2, commit: 5).encoded()))
        #expect(try roundTrip(message) == message)
        let chunk = PeerFrame.snapshotChunk(
            SnapshotChunk(transferID: 3, totalSize: 10, offset: 4, data: ByteBuffer(bytes: [1, 2, 3])))
        #expect(try roundTrip(chunk) == chunk)
    }

    @Test func malformedBodiesThrow() {
        for body: [UInt8] in [[], [99], [1, 0x53], [2] + Array("SETCDPEER".utf8) + [0, 1, 7], [4, 1, 2]] {
            var buffer = ByteBuffer(bytes: body)
            #expect(throws: PeerProtocolError.self) { try PeerFrame(body: &buffer) }
        }
    }

    @Test func handshakeVerdicts() {
        let hello = PeerHello(clusterID: 1, from: 5, to: 2)
        #expect(PeerHelloReply(answering: hello, clusterID: 1, memberID: 2).status == .accepted)
        let wrongCluster = PeerHelloReply(answering: hello, clusterID: 7, memberID: 2)
        #expect(wrongCluster.rejection(dialerClusterID: 1, dialedMember: 2) == .clusterIDMismatch(ours: 1, theirs: 7))
        let wrongMember = PeerHelloReply(answering: hello, clusterID: 1, memberID: 3)
        #expect(wrongMember.rejection(dialerClusterID: 1, dialedMember: 2) == .memberIDMismatch(expected: 2, actual: 3))
        var future = hello
        future.version = 9
        #expect(PeerHelloReply(answering: future, clusterID: 1, memberID: 2).status == .unsupportedVersion)
    }

    @Test func decoderRejectsOversizedFirstFrameBeforeBuffering() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PeerFrameDecoder(maxFrameSize: 1 << 20)))
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(4096))  // far above the handshake limit; no body follows
        #expect(throws: PeerProtocolError.frameTooLarge(length: 4096, limit: PeerFrameDecoder.handshakeFrameLimit)) {
            try channel.writeInbound(buffer)
        }
        _ = try? channel.finish()
    }

    @Test func decoderSplitsFramesAcrossReads() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PeerFrameDecoder(maxFrameSize: 1 << 20)))
        var buffer = ByteBuffer()
        PeerFrame.hello(PeerHello(clusterID: 1, from: 2, to: 3)).write(to: &buffer)
        PeerFrame.message(ByteBuffer(bytes: [1, 2, 3, 4])).write(to: &buffer)
        while buffer.readableBytes > 0, let piece = buffer.readSlice(length: min(3, buffer.readableBytes)) {
            try channel.writeInbound(piece)
        }
        #expect(try channel.readInbound(as: PeerFrame.self) == .hello(PeerHello(clusterID: 1, from: 2, to: 3)))
        #expect(try channel.readInbound(as: PeerFrame.self) == .message(ByteBuffer(bytes: [1, 2, 3, 4])))
        #expect(try channel.finish().isClean)
    }

    @Test func snapshotChunksReassembleAndRejectGaps() throws {
        let encoding = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        var outgoing = OutgoingSnapshot(transferID: 1, encoding: ByteBuffer(bytes: encoding))
        var assembler = SnapshotAssembler(maxSnapshotSize: 1 << 20)
        var result: [UInt8]?
        var frames = 0
        while !outgoing.isComplete, frames < 100 {
            var frame = outgoing.nextFrame(chunkSize: 300, allocator: ByteBufferAllocator())
            frames += 1
            _ = frame.readInteger(as: UInt32.self)
            guard case let .snapshotChunk(chunk) = try PeerFrame(body: &frame) else {
                Issue.record("expected a chunk")
                return
            }
            result = try assembler.add(chunk)
        }
        #expect(frames == 4)
        #expect(result == encoding)

        var gap = SnapshotAssembler(maxSnapshotSize: 1 << 20)
        _ = try gap.add(SnapshotChunk(transferID: 1, totalSize: 10, offset: 0, data: ByteBuffer(bytes: [1, 2])))
        #expect(throws: PeerProtocolError.self) {
            try gap.add(SnapshotChunk(transferID: 1, totalSize: 10, offset: 5, data: ByteBuffer(bytes: [1])))
        }
        var tooBig = SnapshotAssembler(maxSnapshotSize: 8)
        #expect(throws: PeerProtocolError.self) {
            try tooBig.add(SnapshotChunk(transferID: 1, totalSize: 9, offset: 0, data: ByteBuffer(bytes: [1])))
        }
    }

    @Test func smallSnapshotIsOneMessageFrame() throws {
        var outgoing = OutgoingSnapshot(transferID: 1, encoding: ByteBuffer(bytes: [1, 2, 3]))
        var frame = outgoing.nextFrame(chunkSize: 300, allocator: ByteBufferAllocator())
        _ = frame.readInteger(as: UInt32.self)
        #expect(try PeerFrame(body: &frame) == .message(ByteBuffer(bytes: [1, 2, 3])))
        #expect(outgoing.isComplete)
    }

    @Test func backoffDoublesWithJitterAndIsReproducible() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2), seed: 7)
        var again = Backoff(initial: .milliseconds(100), maximum: .seconds(2), seed: 7)
        var steps: [Int64] = [100, 200, 400, 800, 1600, 2000, 2000, 2000]
        for step in steps {
            let delay = backoff.nextDelay().nanoseconds
            #expect(delay == again.nextDelay().nanoseconds)
            #expect(delay >= step * 1_000_000 / 2 && delay <= step * 1_000_000)
        }
        backoff.reset()
        steps = [100]
        #expect(backoff.nextDelay().nanoseconds <= 100_000_000)
    }
}
