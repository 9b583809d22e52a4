import GRPCCore
import GRPCInProcessTransport
import GRPCProtobuf
import NIOCore
import SwiftProtobuf

/// The gRPC side of the gateway: an in-process client of the very services
/// the client port serves (with their interceptors), the way etcd's
/// gateway dials its own gRPC server. Every rule, error text and leader
/// forwarding of the gRPC API thus holds for JSON too, with no second
/// implementation to keep in step.
struct GatewayClient: Sendable {
    let grpc: GRPCClient<InProcessTransport.Client>
    /// The largest request message the client port's gRPC transport takes
    /// (`--max-request-bytes` + 512 KiB, as etcd's `grpcOverheadBytes`).
    let maxMessageBytes: Int
    /// Cancels a unary or server-streaming call whose HTTP client left.
    let cancellation: GatewayCancellation

    /// The most JSON read for one unary request: enough for any message
    /// under the limit (base64 makes bytes a third longer; names, quotes).
    var maxBodyBytes: Int { 2 * maxMessageBytes + 64 * 1024 }

    /// Refuses a message the gRPC transport would refuse, with its words.
    func checkSize(_ message: some SwiftProtobuf.Message) throws(GatewayError) {
        let size: Int
        do {
            let bytes: [UInt8] = try message.serializedBytes()
            size = bytes.count
        } catch {
            throw GatewayError(code: 13, message: "failed to marshal the request: \(error)")
        }
        if size > maxMessageBytes { throw .messageTooLarge(size: size, limit: maxMessageBytes) }
    }
}

/// One of etcd's gateway routes: a gRPC method and the shape of its call.
protocol GatewayRoute: Sendable {
    var bodyPolicy: HTTPBodyPolicy { get }
    func serve(_ body: HTTPRequestBody, metadata: Metadata, client: GatewayClient, responder: HTTPResponder) async throws
}

/// A unary method: the first JSON value of the body is the request, the
/// response one JSON object.
struct UnaryRoute<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>: GatewayRoute {
    let method: MethodDescriptor
    let maxBodyBytes: Int

    var bodyPolicy: HTTPBodyPolicy { .collect(limit: maxBodyBytes) }

    func serve(_ body: HTTPRequestBody, metadata: Metadata, client: GatewayClient, responder: HTTPResponder) async throws {
        let input: Input
        do {
            input = try GatewayJSON.decode(try firstValue(of: body, client: client))
        } catch {
            return try await GatewayResponse.requestError(error, responder: responder)
        }
        let output: Output
        do {
            try client.checkSize(input)
            output = try await client.cancellation.run(metadata: metadata) { metadata in
                try await client.grpc.unary(
                    request: ClientRequest(message: input, metadata: metadata), descriptor: method,
                    serializer: ProtobufSerializer<Input>(), deserializer: ProtobufDeserializer<Output>(),
                    options: .defaults
                ) { response in try response.message }
            }
        } catch {
            return try await GatewayResponse.callError(GatewayError(error), responder: responder)
        }
        let json: String
        do {
            json = try GatewayJSON.encode(output)
        } catch {
            return try await GatewayResponse.callError(error, responder: responder)
        }
        try await GatewayResponse.message(json, responder: responder)
    }
}

/// The first JSON value of a collected body (nil for an empty one).
func firstValue(of body: HTTPRequestBody, client: GatewayClient) throws(GatewayError) -> [UInt8]? {
    switch body {
    case .complete(let bytes):
        var splitter = JSONValueSplitter()
        return splitter.append(bytes.readableBytesView).first ?? splitter.finish()
    case .tooLarge(let received, _):
        // The message would be about as large as the JSON; grpc-go reports
        // the message's size, which is not known without reading it all.
        throw .messageTooLarge(size: received, limit: client.maxMessageBytes)
    case .stream:
        return nil
    }
}

/// A bidirectional-streaming method (watch, lease keep-alive): each JSON
/// value of the body is a request, each response a `{"result": …}` line.
struct BidirectionalRoute<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>: GatewayRoute {
    let method: MethodDescriptor
    /// Whether the call outlives the request body. grpc-gateway half-closes
    /// the call when the body ends; etcd's watch goes on after that (its
    /// keep-alive does not), so a watch is only ended by the client going
    /// away. Not half-closing the watch gives the same.
    let keepsCallOpen: Bool

    var bodyPolicy: HTTPBodyPolicy { .stream }

    func serve(_ body: HTTPRequestBody, metadata: Metadata, client: GatewayClient, responder: HTTPResponder) async throws {
        guard case .stream(let stream) = body else { return }
        let reader = GatewayBodyReader(stream)
        var decoded: Input?
        if let json = await reader.next() {
            do {
                decoded = try GatewayJSON.decode(json)
            } catch {
                // grpc-gateway fails the first request with a plain error,
                // which it reports as codes.Unknown.
                return try await GatewayResponse.requestError(
                    GatewayError(code: 2, message: error.message), responder: responder)
            }
        }
        let keepsCallOpen = keepsCallOpen
        let first = decoded
        let request = StreamingClientRequest(of: Input.self, metadata: metadata) { writer in
            if let first { try await writer.write(first) }
            while let json = await reader.next() {
                // A later malformed request ends the body, not the call.
                guard let next: Input = try? GatewayJSON.decode(json) else { break }
                try await writer.write(next)
            }
            if keepsCallOpen {
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
        }
        await streamResponses(
            responder: responder,
            call: { handle in
                try await client.grpc.bidirectionalStreaming(
                    request: request, descriptor: method, serializer: ProtobufSerializer<Input>(),
                    deserializer: ProtobufDeserializer<Output>(), options: .defaults, onResponse: handle)
            })
    }
}

/// A server-streaming method (maintenance snapshot): one request, a stream
/// of `{"result": …}` lines.
struct ServerStreamingRoute<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>: GatewayRoute {
    let method: MethodDescriptor
    let maxBodyBytes: Int

    var bodyPolicy: HTTPBodyPolicy { .collect(limit: maxBodyBytes) }

    func serve(_ body: HTTPRequestBody, metadata: Metadata, client: GatewayClient, responder: HTTPResponder) async throws {
        let input: Input
        do {
            input = try GatewayJSON.decode(try firstValue(of: body, client: client))
        } catch {
            return try await GatewayResponse.requestError(error, responder: responder)
        }
        await streamResponses(
            responder: responder,
            call: { handle in
                try await client.cancellation.run(metadata: metadata) { metadata in
                    try await client.grpc.serverStreaming(
                        request: ClientRequest(message: input, metadata: metadata), descriptor: method,
                        serializer: ProtobufSerializer<Input>(), deserializer: ProtobufDeserializer<Output>(),
                        options: .defaults, onResponse: handle)
                }
            })
    }
}

/// Runs a streaming call, writing each response as it arrives and the
/// call's error, if any, as grpc-gateway's closing error chunk. A call's
/// failure, even one before any response, comes out of `messages`; what is
/// thrown past the handler is a write to a client that went away, or
/// cancellation, after which nothing more can be said.
private func streamResponses<Output: SwiftProtobuf.Message>(
    responder: HTTPResponder,
    call: (@Sendable @escaping (StreamingClientResponse<Output>) async throws -> Void) async throws -> Void
) async {
    try? await call { response in
        var writer = GatewayStreamWriter(responder: responder)
        do {
            for try await message in response.messages {
                try await writer.write(try GatewayJSON.encode(message))
            }
        } catch let error as GatewayError {
            return try await writer.fail(error)
        } catch let error as RPCError {
            return try await writer.fail(GatewayError(error))
        }
        try await writer.finish()
    }
}
