import GRPCCore

/// Runs `body` so that grpc-swift's cancellation of the RPC — the client
/// resetting its stream or going away, its deadline passing, the server
/// shutting down — cancels `body`'s task. grpc-swift reports that through
/// the server context's cancellation handle rather than by cancelling the
/// handler's task, while the lock and election recipes, which wait as long
/// as their client does, end (and clean up) on task cancellation, which is
/// how the lean server reports it.
///
/// `body` runs in a task of its own, which inherits the caller's task
/// locals (the request's credentials).
func withRPCCancellation<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    return try await withRPCCancellationHandler {
        try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    } onCancelRPC: {
        task.cancel()
    }
}
