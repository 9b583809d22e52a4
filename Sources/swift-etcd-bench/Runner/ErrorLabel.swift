import GRPCCore

/// A short, stable name for a failure, so a report counts errors by kind
/// ("deadlineExceeded: 3") instead of printing each or stopping at the first.
enum ErrorLabel {
    static func of(_ error: any Error) -> String {
        switch error {
        case let rpc as RPCError:
            return rpc.message.isEmpty ? "\(rpc.code)" : "\(rpc.code): \(rpc.message)"
        case is CancellationError:
            return "cancelled"
        default:
            return String(describing: type(of: error))
        }
    }
}
