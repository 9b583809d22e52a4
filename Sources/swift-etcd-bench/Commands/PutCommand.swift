import ArgumentParser
import EtcdAPI
import Foundation

/// `put`: each request a Put, so each one a Raft proposal, a WAL fsync
/// (shared with concurrent ones) and an apply: the write path end to end.
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Benchmark Put: one key per request.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keys: KeyOptions

    func run() async throws {
        let generator = keys.makeGenerator()
        let value = Data(repeating: UInt8(ascii: "v"), count: keys.valSize)
        try await BenchSession(options: global).runUnary("put") { client, call, request in
            let put = Etcdserverpb_PutRequest.with {
                $0.key = generator.key(forRequest: request)
                $0.value = value
            }
            _ = try await Etcdserverpb_KV.Client(wrapping: client).put(put, options: call)
        }
    }
}
