import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import EtcdAPI

/// The handler that answers clients' PINGs in front of grpc-swift's HTTP/2
/// handler: every ping is answered once with its payload and removed from
/// the byte stream, however the bytes are split into reads; every other
/// byte reaches the HTTP/2 handler unchanged and in order.
@Suite struct HTTP2PingAnswererTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags]
            + [UInt8(stream >> 24 & 0xff), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
            + payload
    }

    static func ping(_ tag: UInt8, ack: Bool = false) -> [UInt8] {
        frame(type: 6, flags: ack ? 1 : 0, payload: [2, 4, 16, 16, 9, 14, 7, tag])
    }

    /// Feeds `bytes` in reads of the given sizes (cycled); returns what the
    /// next handler read and what was written back.
    static func run(_ bytes: [UInt8], readSizes: [Int]) throws -> (passed: [UInt8], written: [UInt8], answered: Int) {
        let answerer = HTTP2PingAnswerer()
        let channel = EmbeddedChannel(handler: answerer)
        var offset = 0
        var i = 0
        while offset < bytes.count {
            let n = min(readSizes[i % readSizes.count], bytes.count - offset)
            try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<offset + n]))
            offset += n
            i += 1
        }
        var passed: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { passed += Array(buffer.readableBytesView) }
        var written: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += Array(buffer.readableBytesView) }
        _ = try channel.finish()
        return (passed, written, answerer.answered)
    }

    @Test(arguments: [[100_000], [1], [5, 17, 3], [9], [8, 9, 10]])
    func pingsAreAnsweredAndRemovedWhateverTheReads(readSizes: [Int]) throws {
        let settings = Self.frame(type: 4, payload: [0, 4, 0, 0, 255, 255])
        let data = Self.frame(type: 0, stream: 1, payload: Array(repeating: 0x06, count: 300))  // looks like pings inside
        let headers = Self.frame(type: 1, flags: 4, stream: 3, payload: [0x82, 0x86])
        let ack = Self.ping(9, ack: true)  // an answer to the server's ping: not ours
        let onStream = Self.frame(type: 6, stream: 1, payload: Array(repeating: 1, count: 8))  // malformed: not ours
        let long = Self.frame(type: 6, payload: Array(repeating: 2, count: 9))  // malformed: not ours
        let input =
            Self.preface + settings + Self.ping(1) + data + Self.ping(2) + Self.ping(3) + headers + ack + onStream
            + long + Self.ping(4)
        let (passed, written, answered) = try Self.run(input, readSizes: readSizes)
        #expect(passed == Self.preface + settings + data + headers + ack + onStream + long)
        #expect(answered == 4)
        #expect(written == [1, 2, 3, 4].flatMap { Self.ping($0, ack: true) })
    }

    @Test func aReadWithoutPingsGoesOnWhole() throws {
        let channel = EmbeddedChannel(handler: HTTP2PingAnswerer())
        let bytes = Self.preface + Self.frame(type: 0, stream: 1, payload: Array(repeating: 7, count: 1000))
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        let first = try channel.readInbound(as: ByteBuffer.self)
        #expect(first.map { Array($0.readableBytesView) } == bytes)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    /// A client that pings without reading the answers: once the channel is
    /// not writable its pings go on to the HTTP/2 handler and its limits.
    @Test func pingsPassWhileTheChannelIsNotWritable() throws {
        let answerer = HTTP2PingAnswerer()
        let channel = EmbeddedChannel(handler: answerer)
        channel.isWritable = false
        let bytes = Self.preface + Self.ping(1) + Self.ping(2)
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        var passed: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { passed += Array(buffer.readableBytesView) }
        #expect(passed == bytes && answerer.answered == 0)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    /// swift-etcd on grpc-swift (`SWIFT_ETCD_GRPC_SERVER=grpc-swift`), where
    /// this answerer sits: 400 pings on one connection (twice what
    /// swift-nio-http2 alone tolerates in 30 s) are all answered, and the
    /// server sends no GOAWAY.
    @Test func grpcSwiftAnswersManyPings() throws {
        let node = try EtcdNode(
            kind: .swiftEtcd, clientPort: try BackupTests.ports.next(), peerPort: try BackupTests.ports.next(),
            environment: ["SWIFT_ETCD_GRPC_SERVER": "grpc-swift"])
        defer { node.stop() }
        let (acks, goAway) = try Self.flood(port: node.clientPort, pings: 400)
        #expect(acks == 400 && goAway == nil, "\(acks) acks, GOAWAY: \(goAway.map { "\($0)" } ?? "none")")
    }

    /// The default (lean) server enforces gRPC's ping policy as etcd's Go
    /// server does: pings closer than 5 s apart with no data sent in between
    /// earn strikes, and the third strike gets GOAWAY ENHANCE_YOUR_CALM
    /// "too_many_pings" long before 400 pings are answered.
    @Test(arguments: [EtcdNode.Kind.etcd, .swiftEtcd])
    func aPingFloodIsRefusedAsByEtcd(kind: EtcdNode.Kind) throws {
        let node = try EtcdNode(kind: kind, clientPort: try BackupTests.ports.next(), peerPort: try BackupTests.ports.next())
        defer { node.stop() }
        let (acks, goAway) = try Self.flood(port: node.clientPort, pings: 400)
        #expect(acks < 10, "\(kind.rawValue): \(acks) acks")
        #expect(goAway?.code == 11 && goAway?.debug == "too_many_pings", "\(kind.rawValue): \(goAway.map { "\($0)" } ?? "no GOAWAY")")
    }

    /// Sends the preface, SETTINGS and `pings` PINGs on a fresh connection,
    /// then reads frames until every ping is answered, a GOAWAY arrives, the
    /// connection closes or 5 s pass without a byte.
    static func flood(port: Int, pings: Int) throws -> (acks: Int, goAway: (code: Int, debug: String)?) {
        let fd = try RawHTTP.connect(port: port, timeout: 5)
        defer { close(fd) }
        var out = preface + frame(type: 4, payload: [])
        for i in 0..<pings { out += frame(type: 6, payload: [0, 0, 0, 0, 0, 0, UInt8(i >> 8), UInt8(i & 0xff)]) }
        // A server that closes early may reset the rest of the send.
        _ = out.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }

        var received: [UInt8] = []
        var acks = 0
        var goAway: (code: Int, debug: String)?
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<1000 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += buffer[0..<n]
            while received.count >= 9 {
                let length = Int(received[0]) << 16 | Int(received[1]) << 8 | Int(received[2])
                guard received.count >= 9 + length else { break }
                let payload = Array(received[9..<(9 + length)])
                if received[3] == 6 && received[4] & 1 == 1 { acks += 1 }
                if received[3] == 7 && payload.count >= 8 {
                    let code = payload[4..<8].reduce(0) { $0 << 8 | Int($1) }
                    goAway = (code, String(decoding: payload[8...], as: UTF8.self))
                }
                received.removeFirst(9 + length)
            }
            if acks == pings || goAway != nil { break }
        }
        return (acks, goAway)
    }
}
