import CoreMetrics
import GRPCCore

/// go-grpc-prometheus' server counters, which etcd exports:
/// `grpc_server_started_total` and `grpc_server_handled_total`, labelled by
/// service, method, call type and (when handled) status code, in Go's
/// names (`grpc_code="OK"`, `grpc_type="bidi_stream"`). A call counts as
/// handled when its last response is written, so a watch counts when it
/// ends.
struct GRPCMetricsInterceptor: ServerInterceptor {
    static let started = "grpc_server_started_total"
    static let handled = "grpc_server_handled_total"

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let labels = Self.labels(context.descriptor)
        Counter(label: Self.started, dimensions: labels).increment()
        var response: StreamingServerResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            Self.count(labels, error: error)
            throw error
        }
        switch response.accepted {
        case .success(var contents):
            let producer = contents.producer
            contents.producer = { writer in
                do {
                    let trailers = try await producer(writer)
                    Self.count(labels, error: nil)
                    return trailers
                } catch {
                    // A client that went away ends the call with whatever
                    // the transport threw; go-grpc-prometheus sees Canceled.
                    Self.count(labels, error: context.cancellation.isCancelled || Task.isCancelled ? CancellationError() : error)
                    throw error
                }
            }
            response.accepted = .success(contents)
        case .failure(let error):
            Self.count(labels, error: error)
        }
        return response
    }

    private static func count(_ labels: [(String, String)], error: (any Error)?) {
        let code: RPCError.Code? = error.map { error in
            if let rpc = error as? RPCError { return rpc.code }
            return error is CancellationError ? .cancelled : .unknown
        }
        Counter(label: handled, dimensions: [("grpc_code", goName(code))] + labels).increment()
    }

    static func labels(_ method: MethodDescriptor) -> [(String, String)] {
        let type: String
        switch method.type ?? .unary {
        case .unary: type = "unary"
        case .clientStreaming: type = "client_stream"
        case .serverStreaming: type = "server_stream"
        case .bidirectionalStreaming: type = "bidi_stream"
        }
        return [
            ("grpc_method", method.method), ("grpc_service", method.service.fullyQualifiedService),
            ("grpc_type", type),
        ]
    }

    /// Go's `codes.Code.String()`; nil is success.
    static func goName(_ code: RPCError.Code?) -> String {
        guard let code else { return "OK" }
        switch code {
        case .cancelled: return "Canceled"
        case .unknown: return "Unknown"
        case .invalidArgument: return "InvalidArgument"
        case .deadlineExceeded: return "DeadlineExceeded"
        case .notFound: return "NotFound"
        case .alreadyExists: return "AlreadyExists"
        case .permissionDenied: return "PermissionDenied"
        case .resourceExhausted: return "ResourceExhausted"
        case .failedPrecondition: return "FailedPrecondition"
        case .aborted: return "Aborted"
        case .outOfRange: return "OutOfRange"
        case .unimplemented: return "Unimplemented"
        case .internalError: return "Internal"
        case .unavailable: return "Unavailable"
        case .dataLoss: return "DataLoss"
        case .unauthenticated: return "Unauthenticated"
        default: return "Unknown"
        }
    }
}
