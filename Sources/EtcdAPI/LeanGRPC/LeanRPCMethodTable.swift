import CoreMetrics
import EtcdServer
import GRPCCore
import NIOCore
import SwiftProtobuf

/// The methods the lean gRPC server dispatches to, by HTTP/2 `:path`
/// (`/etcdserverpb.KV/Range`). Each service adds its own methods
/// (`LeanRPCService`), calling the same translation code its grpc-swift
/// conformance calls, so the two servers cannot drift apart.
struct LeanRPCMethodTable: Sendable {
    typealias UnaryHandler = @Sendable (ByteBuffer) async throws -> ByteBuffer
    typealias StreamingHandler = @Sendable (LeanRequestStream, LeanResponseWriter) async throws -> Void

    enum Handler: Sendable {
        /// Request protobuf bytes in, one length-prefixed response out.
        case unary(UnaryHandler)
        /// Client, server or bidirectional streaming.
        case streaming(StreamingHandler)
    }

    struct Method: Sendable {
        let descriptor: MethodDescriptor
        let handler: Handler
        let metrics: LeanCallMetrics
    }

    private var methods: [String: Method] = [:]

    init() {}

    init(services: [any LeanRPCService]) {
        for service in services { service.registerLeanMethods(in: &self) }
    }

    func method(forPath path: String) -> Method? { methods[path] }

    var paths: Dictionary<String, Method>.Keys { methods.keys }

    mutating func register(_ descriptor: MethodDescriptor, _ handler: Handler) {
        methods["/" + descriptor.fullyQualifiedMethod] = Method(
            descriptor: descriptor, handler: handler, metrics: LeanCallMetrics(descriptor))
    }

    /// A unary method: decode, call, encode with its gRPC prefix.
    mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ descriptor: MethodDescriptor, _ body: @escaping @Sendable (Request) async throws -> Response
    ) {
        register(descriptor, .unary { bytes in
            try ProtobufBytes.framed(try await body(try Self.decode(Request.self, bytes)))
        })
    }

    /// A server-streaming method: one request, then the responses `body`
    /// hands to `send`, each written as it comes.
    mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ descriptor: MethodDescriptor,
        _ body: @escaping @Sendable (Request, _ send: (Response) async throws -> Void) async throws -> Void
    ) {
        streaming(descriptor) { requests, writer in
            var iterator = requests.makeAsyncIterator()
            guard let bytes = try await iterator.next() else {
                throw RPCError(code: .internalError, message: "\(descriptor.method) request must contain exactly one message.")
            }
            try await body(try Self.decode(Request.self, bytes)) { response in
                try await writer.write(try Self.encode(response))
            }
        }
    }

    /// A streaming method.
    mutating func streaming(_ descriptor: MethodDescriptor, _ body: @escaping StreamingHandler) {
        register(descriptor, .streaming(body))
    }

    /// grpc-swift's error for bytes that are not the request message.
    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ bytes: ByteBuffer) throws(RPCError) -> M {
        do {
            return try ProtobufBytes.decode(M.self, from: bytes)
        } catch {
            throw RPCError(code: .invalidArgument, message: "Can't deserialize to message of type \(M.self).", cause: error)
        }
    }

    /// One response, length-prefixed, for a streaming method's writer.
    static func encode(_ message: some SwiftProtobuf.Message) throws(RPCError) -> ByteBuffer {
        do {
            return try ProtobufBytes.framed(message)
        } catch {
            throw RPCError(code: .internalError, message: "Can't serialize message of type \(type(of: message)).", cause: error)
        }
    }
}

/// A service the lean gRPC server can serve.
protocol LeanRPCService: Sendable {
    func registerLeanMethods(in table: inout LeanRPCMethodTable)
}

/// go-grpc-prometheus' counters for one method (`GRPCMetricsInterceptor`
/// has the names and labels), made once instead of looked up in the
/// registry twice per call.
final class LeanCallMetrics: Sendable {
    let labels: [(String, String)]
    private let started: Counter
    private let handledOK: Counter

    init(_ descriptor: MethodDescriptor) {
        labels = GRPCMetricsInterceptor.labels(descriptor)
        started = Counter(label: GRPCMetricsInterceptor.started, dimensions: labels)
        handledOK = Counter(label: GRPCMetricsInterceptor.handled, dimensions: [("grpc_code", "OK")] + labels)
    }

    func callStarted() { started.increment() }

    /// nil is success.
    func callHandled(_ code: RPCError.Code?) {
        guard let code else { return handledOK.increment() }
        Counter(
            label: GRPCMetricsInterceptor.handled,
            dimensions: [("grpc_code", GRPCMetricsInterceptor.goName(code))] + labels
        ).increment()
    }
}

/// How calls run on the lean server's tasks.
enum LeanCall {
    /// Runs `body` as the caller `credentials` names; binds nothing (a task
    /// local costs an allocation) when there is no caller, which the server
    /// reads the same as credentials without token or name.
    static func withCredentials<T: Sendable>(
        _ credentials: RequestCredentials?, _ body: () async throws -> T
    ) async throws -> T {
        guard let credentials else { return try await body() }
        return try await RequestCredentials.$current.withValue(credentials) { try await body() }
    }

    /// The status an error ends a call with, as grpc-swift maps it.
    static func status(of error: any Error) -> (code: RPCError.Code, message: String) {
        if let error = error as? RPCError { return (error.code, error.message) }
        if error is CancellationError { return (.cancelled, "The RPC was cancelled.") }
        return (.unknown, "Service method threw an unknown error.")
    }
}
