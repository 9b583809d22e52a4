import ArgumentParser
import EtcdAPI
import Foundation
import GRPCCore

/// `watch`: fan-out (issue 3). `--watchers` watchers on one prefix (or one
/// key), spread over `--streams` Watch streams, see `--total` puts; reports
/// watcher creation time, server memory per watcher (with `--server-pids`),
/// events delivered per second and each event's delivery latency, from the
/// moment its put was sent (carried in the value) to its arrival.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Benchmark watch fan-out: many watchers, a stream of puts, events delivered.",
        discussion: "--total is the number of puts; --clients put concurrently.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keys: KeyOptions

    @Option(help: "Watchers in all.")
    var watchers: Int = 1_000

    @Option(help: "Watch streams the watchers are spread over (round-robin over --conns).")
    var streams: Int = 10

    @Option(help: "Key prefix the watchers watch and the puts write under.")
    var prefix: String = "watchbench/"

    @Flag(help: "Watch one key (<prefix> followed by key 0) instead of the prefix; puts go to that key.")
    var singleKey = false

    @Option(help: "Puts per second in all (0: as fast as the clients go).")
    var putRate: Double = 0

    @Option(help: "Seconds to let the server settle after the watchers are created, before reading its RSS.")
    var settle: Double = 1

    func validate() throws {
        guard watchers >= 1, streams >= 1 else { throw ValidationError("--watchers and --streams must be at least 1") }
        guard streams <= watchers else { throw ValidationError("--streams must not exceed --watchers") }
        guard putRate >= 0, settle >= 0 else { throw ValidationError("--put-rate and --settle must not be negative") }
        guard keys.valSize >= DeliveryStamp.size else {
            throw ValidationError("--val-size must be at least \(DeliveryStamp.size): the value carries the send time")
        }
    }

    func run() async throws {
        let session = BenchSession(options: global)
        let endpoints = try await session.targets()
        let pids = try global.parsedServerPIDs()
        var generator = keys.makeGenerator()
        generator.prefix = Data(prefix.utf8)
        let plan = WatchPlan(
            watchers: watchers, streams: streams,
            key: singleKey ? generator.key(at: 0) : Data(prefix.utf8),
            rangeEnd: singleKey ? Data() : KeyRange.prefixEnd(Data(prefix.utf8)))
        let writer = StampedWriter(
            generator: generator, singleKey: singleKey, valSize: keys.valSize, putRate: putRate,
            clients: global.clients, call: session.callOptions)
        let settle = Duration.milliseconds(Int64(self.settle * 1000))
        let options = global

        let report = try await ConnectionPool.with(addresses: endpoints, conns: global.conns) { pool in
            try await WatchFanOut(plan: plan, writer: writer, options: options, pids: pids, settle: settle)
                .run(pool: pool, endpoints: endpoints)
        }
        ReportPrinter.print(report, text: report.text, format: global.writeOut)
    }
}

/// Which watchers to create where.
struct WatchPlan: Sendable {
    let watchers: Int
    let streams: Int
    let key: Data
    let rangeEnd: Data

    /// Watchers on stream `stream`: an even split, the first streams
    /// taking one more when it does not divide.
    func watchers(onStream stream: Int) -> Int {
        watchers / streams + (stream < watchers % streams ? 1 : 0)
    }

    var createRequest: Etcdserverpb_WatchRequest {
        .with {
            $0.createRequest = .with {
                $0.key = key
                $0.rangeEnd = rangeEnd
            }
        }
    }
}

/// The send time of a put, in nanoseconds since the run's epoch, stored in
/// the first 8 bytes of its value (little-endian) so each event tells its
/// own delivery latency with no lookup table; one process, one monotonic
/// clock, so no clock skew.
enum DeliveryStamp {
    static let size = 8

    static func value(sentAt offset: Duration, size: Int) -> Data {
        var value = Data(count: max(size, Self.size))
        withUnsafeBytes(of: offset.nanoseconds.littleEndian) { stamp in
            value.replaceSubrange(0..<Self.size, with: stamp)
        }
        return value
    }

    static func sentAt(_ value: Data) -> Duration? {
        guard value.count >= size else { return nil }
        var raw: UInt64 = 0
        for (shift, byte) in value.prefix(size).enumerated() { raw |= UInt64(byte) << (8 * shift) }
        return .nanoseconds(Int64(clamping: raw))
    }
}
