import ArgumentParser
import EtcdAPI
import Foundation

/// `range <key> [end]`: the read path, linearizable (a ReadIndex round to
/// the leader per read, batched) or serializable (the local store alone).
struct RangeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "range", abstract: "Benchmark Range over a key, a range or a prefix.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key, or the start of the range.")
    var key: String

    @Argument(help: "The end of the range (exclusive).")
    var end: String?

    @Option(help: "l (linearizable) or s (serializable).")
    var consistency: Consistency = .l

    @Flag(help: "Read every key that starts with <key>.")
    var prefix = false

    @Option(help: "The most keys to return per request (0: no limit).")
    var limit: Int64 = 0

    @Flag(help: "Ask for the count only, not the pairs.")
    var countOnly = false

    enum Consistency: String, ExpressibleByArgument, CaseIterable {
        case l, s
    }

    func validate() throws {
        if prefix, end != nil { throw ValidationError("give either --prefix or an end key, not both") }
        guard limit >= 0 else { throw ValidationError("--limit must not be negative") }
    }

    func run() async throws {
        let request = Etcdserverpb_RangeRequest.with {
            $0.key = Data(key.utf8)
            if prefix {
                $0.rangeEnd = KeyRange.prefixEnd(Data(key.utf8))
            } else if let end {
                $0.rangeEnd = Data(end.utf8)
            }
            $0.serializable = consistency == .s
            $0.limit = limit
            $0.countOnly = countOnly
        }
        let name = consistency == .s ? "range-serializable" : "range-linearizable"
        try await BenchSession(options: global).runUnary(name) { client, call, _ in
            _ = try await Etcdserverpb_KV.Client(wrapping: client).range(request, options: call)
        }
    }
}
