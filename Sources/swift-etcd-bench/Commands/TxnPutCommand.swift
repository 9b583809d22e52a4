import ArgumentParser
import EtcdAPI
import Foundation

/// `txn-put`: a Txn of `--txn-ops` unconditional puts, the shape of
/// Kubernetes' writes minus the compare, so the Txn path's own cost shows
/// beside plain `put`.
struct TxnPutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "txn-put", abstract: "Benchmark Txn with puts only.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keys: KeyOptions

    @Option(help: "Puts per transaction; they go to consecutive keys, so need as many distinct keys.")
    var txnOps: Int = 1

    func validate() throws {
        guard txnOps >= 1 else { throw ValidationError("--txn-ops must be at least 1") }
        // A Txn may not name one key twice (etcd's "duplicate key given in txn request").
        guard keys.keySpaceSize >= txnOps else {
            throw ValidationError("--key-space-size must be at least --txn-ops (\(txnOps))")
        }
    }

    func run() async throws {
        let generator = keys.makeGenerator()
        let value = Data(repeating: UInt8(ascii: "v"), count: keys.valSize)
        let ops = txnOps
        let space = keys.keySpaceSize
        let sequential = keys.sequentialKeys
        try await BenchSession(options: global).runUnary("txn-put") { client, call, request in
            let first = sequential ? request * ops : Int.random(in: 0..<space)
            let txn = Etcdserverpb_TxnRequest.with { txn in
                txn.success = (0..<ops).map { offset in
                    Etcdserverpb_RequestOp.with {
                        $0.requestPut = .with {
                            $0.key = generator.key(at: (first + offset) % space)
                            $0.value = value
                        }
                    }
                }
            }
            _ = try await Etcdserverpb_KV.Client(wrapping: client).txn(txn, options: call)
        }
    }
}
