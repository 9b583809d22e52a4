import NIOCore
import NIOPosix
import Raft
import Testing

#if canImport(PeerTransport)
@testable import PeerTransport
#else
@testable import EtcdServer
#endif

/// End-to-end tests on 127.0.0.1: real sockets, real transports.
@Suite("PeerTransport", .timeLimit(.minutes(2)))
struct PeerTransportTests {
    @Test("10,000 messages each way arrive complete and in order")
    func exchangeInOrder() async throws {
        try await withGroup { group in
            let (a, b) = try await connectedPair(group: group)
            let total = 10_000
            let batch = 500
            // Pace the sender by what arrived so the default queue bound (4096) is never hit.
            for start in stride(from: 1, through: total, by: batch) {
                let range = start..<min(start + batch, total + 1)
                a.transport.send(range.map { heartbeat(from: 1, to: 2, commit: UInt64($0)) })
                b.transport.send(range.map { heartbeat(from: 2, to: 1, commit: UInt64($0)) })
                let caughtUp = await waitUntil {
                    b.received.count >= range.upperBound - 1 - 2000 && a.received.count >= range.upperBound - 1 - 2000
                }
                #expect(caughtUp)
            }
            #expect(await waitUntil { a.received.count == total && b.received.count == total })
            #expect(b.received.all.map(\.commit) == (1...total).map(UInt64.init))
            #expect(a.received.all.map(\.commit) == (1...total).map(UInt64.init))
            #expect(b.received.all.allSatisfy { $0.from == 1 && $0.to == 2 && $0.type == .heartbeat })
            #expect(a.events.all.filter { if case .unreachable = $0 { true } else { false } }.isEmpty)
            await a.stop()
            await b.stop()
        }
    }

    @Test("a member of another cluster is refused and nothing it sends is delivered")
    func clusterIDMismatch() async throws {
        try await withGroup { group in
            let b = try await TestMember.start(id: 2, clusterID: 0xB, group: group)
            let a = try await TestMember.start(id: 1, clusterID: 0xA, peers: [2: b.address], group: group)
            a.transport.send((1...10).map { heartbeat(from: 1, to: 2, commit: $0) })
            let refused = await waitUntil { a.count(.rejected(2, .clusterIDMismatch(ours: 0xA, theirs: 0xB))) >= 1 }
            #expect(refused)
            #expect(await waitUntil {
                b.logged("rejected peer connection from member 1: cluster ID mismatch (ours b, theirs a)")
            })
            #expect(a.logged("remote peer rejected our connection: cluster ID mismatch (ours a, theirs b)"))
            // The refused stream stays refused across redials; what a sends is dropped and reported.
            #expect(await waitUntil { a.count(.rejected(2, .clusterIDMismatch(ours: 0xA, theirs: 0xB))) >= 2 })
            a.transport.send([heartbeat(from: 1, to: 2, commit: 11)])
            #expect(await waitUntil { a.count(.unreachable(2)) >= 1 })
            #expect(b.received.count == 0)
            #expect(a.count(.active(2)) == 0)
            await a.stop()
            await b.stop()
        }
    }

    @Test("a peer that stops is reported unreachable; its replacement receives again after backoff")
    func peerRestart() async throws {
        try await withGroup { group in
            let (a, b) = try await connectedPair(group: group)
            a.transport.send([heartbeat(from: 1, to: 2, commit: 1)])
            #expect(await waitUntil { b.received.count == 1 })

            await b.stop()
            #expect(await waitUntil { a.count(.unreachable(2)) >= 1 })
            #expect(a.logged("lost TCP streaming connection with remote peer"))
            // While it is down, sends are dropped and reported, never block.
            a.transport.send([heartbeat(from: 1, to: 2, commit: 2)])

            let revived = try await TestMember.start(id: 2, port: b.address.port, peers: [1: a.address], group: group)
            #expect(await waitUntil { a.count(.active(2)) >= 2 })
            var commit: UInt64 = 100
            let flowing = await waitUntil(timeout: .seconds(10), interval: .milliseconds(20)) {
                commit += 1
                a.transport.send([heartbeat(from: 1, to: 2, commit: commit)])
                return revived.received.count > 0
            }
            #expect(flowing)
            #expect(revived.received.all.allSatisfy { $0.commit > 100 })
            await a.stop()
            await revived.stop()
        }
    }

    @Test("a 5 MiB snapshot arrives intact, in chunks, while heartbeats keep flowing")
    func chunkedSnapshot() async throws {
        var options = PeerTransportOptions.testing
        options.snapshotChunkSize = 256 << 10
        try await withGroup { group in
            let (a, b) = try await connectedPair(group: group, options: options)
            let data = (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
            let snapshot = Message(
                type: .snap, to: 2, from: 1, term: 3,
                snapshot: Snapshot(data: data, metadata: SnapshotMetadata(index: 42, term: 3, confState: ConfState(voters: [1, 2], learners: []))))
            // Heartbeats queued in the same turn right behind the snapshot go
            // out ahead of its chunks, whatever the machine's load.
            var commit: UInt64 = 3
            a.transport.send([snapshot] + (1...3).map { heartbeat(from: 1, to: 2, commit: $0) })
            let arrived = await waitUntil(timeout: .seconds(20), interval: .milliseconds(1)) {
                commit += 1
                a.transport.send([heartbeat(from: 1, to: 2, commit: commit)])
                return b.received.all.contains { $0.type == .snap }
            }
            #expect(arrived)
            let received = b.received.all
            let snapIndex = try #require(received.firstIndex { $0.type == .snap })
            #expect(received[snapIndex] == snapshot)
            // Heartbeats sent after the snapshot overtook it, instead of waiting 5 MiB behind it.
            #expect(received[..<snapIndex].contains { $0.type == .heartbeat })
            // Heartbeats among themselves stay in order.
            let commits = received.filter { $0.type == .heartbeat }.map(\.commit)
            #expect(commits == commits.sorted())
            #expect(await waitUntil { a.count(.snapshotSent(2, failed: false)) == 1 })
            await a.stop()
            await b.stop()
        }
    }

    @Test("garbage and oversized frames close only their connection")
    func hostileInbound() async throws {
        try await withGroup { group in
            let b = try await TestMember.start(id: 2, group: group)

            let garbage = try await RawClient.connect(to: b.address, group: group)
            garbage.write(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(await waitUntil { !garbage.channel.isActive })

            let oversized = try await RawClient.connect(to: b.address, group: group)
            var buffer = ByteBuffer()
            PeerFrame.hello(PeerHello(clusterID: 0xC1, from: 7, to: 2)).write(to: &buffer)
            buffer.writeInteger(UInt32.max)
            buffer.writeBytes([3, 0, 0, 0])
            oversized.write(Array(buffer.readableBytesView))
            #expect(await waitUntil { !oversized.channel.isActive })

            let undecodable = try await RawClient.connect(to: b.address, group: group)
            var bad = ByteBuffer()
            PeerFrame.hello(PeerHello(clusterID: 0xC1, from: 8, to: 2)).write(to: &bad)
            PeerFrame.message(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])).write(to: &bad)
            undecodable.write(Array(bad.readableBytesView))
            #expect(await waitUntil { !undecodable.channel.isActive })

            // A peer that shook hands as member 9 but stamps its messages as member 1.
            let impostor = try await RawClient.connect(to: b.address, group: group)
            var forged = ByteBuffer()
            PeerFrame.hello(PeerHello(clusterID: 0xC1, from: 9, to: 2)).write(to: &forged)
            PeerFrame.message(ByteBuffer(bytes: heartbeat(from: 1, to: 2, commit: 1).encoded())).write(to: &forged)
            PeerFrame.message(ByteBuffer(bytes: heartbeat(from: 9, to: 3, commit: 1).encoded())).write(to: &forged)
            impostor.write(Array(forged.readableBytesView))
            #expect(await waitUntil { b.logs.all.filter { $0.contains("not addressed to this member") }.count >= 1 })
            impostor.channel.close(promise: nil)

            #expect(await waitUntil { b.logged("frame of 4294967295 bytes exceeds the limit") })
            #expect(await waitUntil { b.logged("undecodable Raft message") })
            #expect(b.received.count == 0)

            // The transport still serves well-behaved peers.
            let a = try await TestMember.start(id: 1, peers: [2: b.address], group: group)
            a.transport.send([heartbeat(from: 1, to: 2, commit: 1)])
            #expect(await waitUntil { b.received.count == 1 })
            await a.stop()
            await b.stop()
        }
    }

    @Test("messages for unknown peers are dropped and reported")
    func unknownPeer() async throws {
        try await withGroup { group in
            let a = try await TestMember.start(id: 1, group: group)
            a.transport.send([
                heartbeat(from: 1, to: 99, commit: 1),
                Message(type: .snap, to: 99, from: 1, term: 1, snapshot: Snapshot(data: [1, 2, 3])),
                heartbeat(from: 1, to: 1, commit: 1),  // to ourselves: ignored
            ])
            #expect(await waitUntil { a.count(.unreachable(99)) == 1 && a.count(.snapshotSent(99, failed: true)) == 1 })
            #expect(a.logged("dropped message to unknown remote peer"))
            await a.stop()
        }
    }

    @Test("a full queue drops the overflow and reports the peer unreachable")
    func boundedQueue() async throws {
        var options = PeerTransportOptions.testing
        options.maxQueuedMessages = 100
        try await withGroup { group in
            let (a, b) = try await connectedPair(group: group, options: options)
            // One batch is queued whole before the writer runs, so exactly the bound fits.
            a.transport.send((1...5000).map { heartbeat(from: 1, to: 2, commit: $0) })
            #expect(await waitUntil { a.count(.unreachable(2)) >= 1 && b.received.count == 100 })
            #expect(b.received.all.map(\.commit) == Array(1...100))
            #expect(a.logged("dropped internal Raft messages since sending buffer is full"))
            // The stream itself is fine: later messages flow.
            a.transport.send([heartbeat(from: 1, to: 2, commit: 6000)])
            #expect(await waitUntil { b.received.count == 101 })
            await a.stop()
            await b.stop()
        }
    }

    @Test("a snapshot for a peer that is down, or still queued at stop, is reported failed")
    func snapshotFailures() async throws {
        try await withGroup { group in
            let (a, b) = try await connectedPair(group: group)
            await b.stop()
            #expect(await waitUntil { a.count(.unreachable(2)) >= 1 })
            let snapshot = Message(type: .snap, to: 2, from: 1, term: 1, snapshot: Snapshot(data: [1, 2, 3]))
            a.transport.send([snapshot])
            #expect(await waitUntil { a.count(.snapshotSent(2, failed: true)) >= 1 })
            #expect(a.count(.snapshotSent(2, failed: false)) == 0)

            // Queued for a peer that never answers, then the transport stops.
            let c = try await TestMember.start(id: 3, peers: [4: PeerAddress(host: "127.0.0.1", port: b.address.port)], group: group)
            c.transport.send([Message(type: .snap, to: 4, from: 3, term: 1, snapshot: Snapshot(data: [9]))])
            await c.stop()
            #expect(c.count(.snapshotSent(4, failed: true)) == 1)
            await a.stop()
        }
    }

    @Test("a port in use is a clear error")
    func addressInUse() async throws {
        try await withGroup { group in
            let a = try await TestMember.start(id: 1, group: group)
            let second = PeerTransport(
                localID: 2, clusterID: 0xC1, listenAddress: a.address, peers: [:],
                logger: .init(label: "second"), eventLoopGroup: group)
            await #expect(throws: PeerTransportError.addressInUse(a.address)) { try await second.start() }
            await second.stop()
            await a.stop()
        }
    }

    @Test("removed peers stop receiving; added peers start")
    func membershipChange() async throws {
        try await withGroup { group in
            let (a, b) = try await connectedPair(group: group)
            a.transport.setPeers([:])
            a.transport.send([heartbeat(from: 1, to: 2, commit: 1)])
            #expect(await waitUntil { a.count(.unreachable(2)) >= 1 })
            a.transport.setPeers([2: b.address])
            #expect(await waitUntil { a.count(.active(2)) >= 2 })
            a.transport.send([heartbeat(from: 1, to: 2, commit: 2)])
            #expect(await waitUntil { b.received.count == 1 })
            #expect(b.received.all.first?.commit == 2)
            await a.stop()
            await b.stop()
        }
    }
}

/// A bare TCP client that writes raw bytes and ignores what comes back.
struct RawClient {
    let channel: any Channel

    static func connect(to address: PeerAddress, group: any EventLoopGroup) async throws -> RawClient {
        let channel = try await ClientBootstrap(group: group).connect(host: address.host, port: address.port).get()
        return RawClient(channel: channel)
    }

    func write(_ bytes: [UInt8]) {
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }
}
