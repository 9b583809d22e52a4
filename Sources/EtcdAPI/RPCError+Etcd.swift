import EtcdServer
import GRPCCore

extension RPCError {
    /// etcd's status for a server error: the same code and the same text,
    /// which Go clients turn back into typed errors by matching the text.
    init(_ error: EtcdError) {
        let code: RPCError.Code =
            switch error.code {
            case .cancelled: .cancelled
            case .unknown: .unknown
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .permissionDenied: .permissionDenied
            case .resourceExhausted: .resourceExhausted
            case .failedPrecondition: .failedPrecondition
            case .outOfRange: .outOfRange
            case .unimplemented: .unimplemented
            case .unavailable: .unavailable
            case .unauthenticated: .unauthenticated
            }
        self.init(code: code, message: error.message)
    }
}

/// Runs a server call, turning its `EtcdError` into etcd's gRPC status.
func withEtcdErrors<T: Sendable>(_ body: () async throws(EtcdError) -> T) async throws(RPCError) -> T {
    do {
        return try await body()
    } catch {
        throw RPCError(error)
    }
}

/// Runs a Lock or Election call. etcd serves those through a client of its
/// own KV, Lease and Watch services, which turns their statuses back into
/// plain Go errors, and grpc-go sends a plain error as `Unknown` with its
/// text: `etcdserver: requested lease not found`, `election: not leader`.
func withRecipeErrors<T: Sendable>(_ body: () async throws(EtcdError) -> T) async throws(RPCError) -> T {
    do {
        return try await body()
    } catch .canceled {
        throw RPCError(EtcdError.canceled)
    } catch {
        throw RPCError(code: .unknown, message: error.message)
    }
}
