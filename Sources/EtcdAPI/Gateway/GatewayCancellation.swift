import GRPCCore
import NIOConcurrencyHelpers

/// Tells a gateway call that its HTTP client went away. etcd's gateway
/// dials the member's own gRPC port, so a client leaving cancels the call
/// as an HTTP/2 reset would, and a waiting Lock deletes its key. Our
/// gateway calls the services over grpc-swift's in-process transport,
/// which cancels a server's handlers only when it shuts down: the end of
/// a unary or server-streaming call's client side is never seen.
///
/// So each such call carries an ID in its metadata (`run`); an interceptor
/// on the gateway's own server attaches the call's cancellation handle to
/// the ID (`GatewayCancellationInterceptor`), and the route's cancellation
/// (the HTTP connection closed) cancels that handle, which is how the
/// HTTP/2 transport reports a reset.
final class GatewayCancellation: Sendable {
    /// The metadata key naming a gateway call. Only the gateway sets it: a
    /// value a client sent as `Grpc-Metadata-…` is replaced.
    static let metadataKey = "swift-etcd-gateway-call"

    private enum Call {
        case started
        case attached(ServerContext.RPCCancellationHandle)
        case cancelled
    }

    private struct State {
        var nextID: UInt64 = 1
        var calls: [UInt64: Call] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Runs `call` with `metadata` naming it; if the task is cancelled
    /// while `call` runs, so is the server's side of the call.
    func run<T>(metadata: Metadata, _ call: (Metadata) async throws -> T) async throws -> T {
        let id = state.withLockedValue { state in
            let id = state.nextID
            state.nextID += 1
            state.calls[id] = .started
            return id
        }
        defer { state.withLockedValue { _ = $0.calls.removeValue(forKey: id) } }
        var metadata = metadata
        metadata.replaceOrAddString(String(id), forKey: Self.metadataKey)
        return try await withTaskCancellationHandler {
            try await call(metadata)
        } onCancel: {
            cancel(id)
        }
    }

    private func cancel(_ id: UInt64) {
        let handle: ServerContext.RPCCancellationHandle? = state.withLockedValue { state in
            guard let call = state.calls[id] else { return nil }
            state.calls[id] = .cancelled
            if case .attached(let handle) = call { return handle }
            return nil
        }
        handle?.cancel()
    }

    /// The server's side: the call `metadata` names runs with `handle`
    /// (cancelled at once if its client has gone already).
    func attach(_ metadata: Metadata, handle: ServerContext.RPCCancellationHandle) {
        var values = metadata[stringValues: Self.metadataKey].makeIterator()
        guard let id = values.next().flatMap(UInt64.init) else { return }
        let cancelled: Bool = state.withLockedValue { state in
            switch state.calls[id] {
            case .started:
                state.calls[id] = .attached(handle)
                return false
            case .cancelled:
                return true
            case .attached, nil:
                return false
            }
        }
        if cancelled { handle.cancel() }
    }
}

/// The gateway server's side of `GatewayCancellation`.
struct GatewayCancellationInterceptor: ServerInterceptor {
    let cancellation: GatewayCancellation

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        cancellation.attach(request.metadata, handle: context.cancellation)
        return try await next(request, context)
    }
}
