import EtcdServer
import GRPCCore
import GRPCProtobuf
import MVCC
import NIOCore

/// `etcdserverpb.Watch`: one bidirectional stream carries many watchers.
/// A receiver task turns client requests into hub calls; a sender task
/// drains the stream's queue whenever the server signals it.
///
/// Registered by hand rather than through the generated protocol so that
/// responses go out as `EncodedWatchResponse`s: the events a revision sends
/// to many watchers are encoded once and copied into each message. The
/// request handling (`handle`) and the batch encoding (`messages`) are
/// shared by the grpc-swift registration and the lean server's.
struct WatchService: RegistrableRPCService {
    let server: EtcdServer

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Etcdserverpb_Watch.Method.Watch.descriptor,
            deserializer: ProtobufDeserializer<Etcdserverpb_WatchRequest>(),
            serializer: EncodedWatchResponse.Serializer(),
            handler: { request, context in
                StreamingServerResponse(metadata: [:]) { writer in
                    try await self.watch(request: request.messages, response: writer, context: context)
                    return [:]
                }
            }
        )
    }

    func watch(
        request: RPCAsyncSequence<Etcdserverpb_WatchRequest, any Error>,
        response: RPCWriter<EncodedWatchResponse>,
        context: ServerContext
    ) async throws {
        let (stream, signal) = await server.openWatchStream()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await message in request {
                        try Task.checkCancellation()
                        await handle(message, on: stream)
                    }
                }
                group.addTask {
                    for await _ in signal {
                        let (responses, header) = await server.drainWatch(stream)
                        guard !responses.isEmpty else { continue }
                        // One write (one flush, one HTTP/2 DATA frame) per drained batch.
                        try await response.write(contentsOf: try Self.messages(responses, header: header))
                    }
                }
                // The call ends when the client stops sending (or fails).
                try await group.next()
                group.cancelAll()
            }
        } catch {
            await server.closeWatchStream(stream)
            throw error
        }
        await server.closeWatchStream(stream)
    }

    func handle(_ message: Etcdserverpb_WatchRequest, on stream: WatchStreamID) async {
        switch message.requestUnion {
        case .createRequest(let create):
            var filters: WatchFilters = []
            for f in create.filters {
                switch f {
                case .noput: filters.insert(.noPut)
                case .nodelete: filters.insert(.noDelete)
                default: break
                }
            }
            let request = WatchCreateRequest(
                range: KeyRange(key: [UInt8](create.key), rangeEnd: [UInt8](create.rangeEnd)),
                startRevision: create.startRevision, progressNotify: create.progressNotify,
                filters: filters, prevKv: create.prevKv, watchID: create.watchID, fragment: create.fragment)
            await server.createWatchIfPermitted(request, on: stream)
        case .cancelRequest(let cancel):
            await server.cancelWatch(cancel.watchID, on: stream)
        case .progressRequest:
            await server.requestWatchProgress(on: stream)
        case nil:
            break
        }
    }
}

extension WatchService: LeanRPCService {
    func registerLeanMethods(in table: inout LeanRPCMethodTable) {
        table.streaming(Etcdserverpb_Watch.Method.Watch.descriptor) { requests, writer in
            try await watch(requests: requests, writer: writer)
        }
    }

    /// The lean server's Watch. As etcd does, the watch stays open when the
    /// client half-closes its side (etcd's receive loop ends on EOF, its
    /// send loop goes on): only cancellation (the client's reset, the
    /// connection closing, the deadline) or a failed write ends it.
    func watch(requests: LeanRequestStream, writer: LeanResponseWriter) async throws {
        let (stream, signal) = await server.openWatchStream()
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for try await bytes in requests {
                        try Task.checkCancellation()
                        await handle(try LeanRPCMethodTable.decode(Etcdserverpb_WatchRequest.self, bytes), on: stream)
                    }
                    return false  // half-closed: the call goes on
                }
                group.addTask {
                    for await _ in signal {
                        let (responses, header) = await server.drainWatch(stream)
                        guard !responses.isEmpty else { continue }
                        // One write (one flush, one DATA frame) per drained batch.
                        try await writer.write(try EncodedWatchResponse.framed(try Self.messages(responses, header: header)))
                    }
                    return true
                }
                while let callEnded = try await group.next(), !callEnded {}
                group.cancelAll()
            }
        } catch {
            await server.closeWatchStream(stream)
            throw error
        }
        await server.closeWatchStream(stream)
    }
}

extension WatchService {
    /// The messages for a drained batch. The hub hands every watcher that
    /// gets the same events (same revision, range group and options) the
    /// same array, so each such array is encoded once per batch and the
    /// bytes are shared by all their messages.
    static func messages(_ responses: [WatchResponse], header: ResponseHeader) throws -> [EncodedWatchResponse] {
        var messages: [EncodedWatchResponse] = []
        messages.reserveCapacity(responses.count)
        // The buffers are kept alive by `responses` for the whole loop, so
        // an address names one array.
        var lastEvents: UnsafeRawPointer?
        var lastEncoded: [UInt8] = []
        for r in responses {
            var events: [UInt8] = []
            if !r.events.isEmpty {
                let address = r.events.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
                if address != lastEvents {
                    lastEncoded = try EncodedWatchResponse.encode(r.events)
                    lastEvents = address
                }
                events = lastEncoded
            }
            messages.append(EncodedWatchResponse(head: Etcdserverpb_WatchResponse(r, header: header), events: events))
        }
        return messages
    }
}

/// An `etcdserverpb.WatchResponse` whose events are already encoded: the
/// bytes of its `events` fields (field 11), shared by every watcher's
/// message, follow the encoding of the other fields. Protobuf encodes
/// fields in field-number order and `events` has the highest number, so the
/// bytes are exactly `Etcdserverpb_WatchResponse`'s own encoding.
struct EncodedWatchResponse: Sendable {
    /// Every field but `events`.
    var head: Etcdserverpb_WatchResponse
    var events: [UInt8]

    /// The encoding of `events` as the `events` fields of a WatchResponse.
    static func encode(_ events: [Event]) throws -> [UInt8] {
        var message = Etcdserverpb_WatchResponse()
        message.events = events.map(Mvccpb_Event.init)
        return try message.serializedBytes()
    }

    /// The encoding of every field but `events`.
    func headBytes() throws(RPCError) -> [UInt8] {
        do {
            return try head.serializedBytes()
        } catch {
            throw RPCError(code: .internalError, message: "Can't serialize a watch response.", cause: error)
        }
    }

    /// A batch as consecutive gRPC length-prefixed messages, for one write.
    static func framed(_ messages: [EncodedWatchResponse]) throws(RPCError) -> ByteBuffer {
        var heads: [[UInt8]] = []
        heads.reserveCapacity(messages.count)
        var size = 0
        for message in messages {
            let head = try message.headBytes()
            size += LengthPrefixedMessageDecoder.prefixLength + head.count + message.events.count
            heads.append(head)
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(size)
        for (message, head) in zip(messages, heads) {
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(truncatingIfNeeded: head.count + message.events.count))
            buffer.writeBytes(head)
            buffer.writeBytes(message.events)
        }
        return buffer
    }

    struct Serializer: MessageSerializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: EncodedWatchResponse) throws -> Bytes {
            let head = try message.headBytes()
            let events = message.events
            var bytes = Bytes(repeating: 0, count: head.count + events.count)
            bytes.withUnsafeMutableBytes { out in
                head.withUnsafeBytes { out.copyMemory(from: $0) }
                events.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[head.count...]).copyMemory(from: $0) }
            }
            return bytes
        }
    }
}

extension Etcdserverpb_WatchResponse {
    /// Every field of `r` but its events.
    init(_ r: WatchResponse, header h: ResponseHeader) {
        self.init()
        var h = h
        // etcd's compaction cancel carries no revision (mvcc sends it as
        // `WatchResponse{WatchID, CompactRevision}`), so its header has none.
        h.revision = r.compactRevision > 0 ? 0 : r.headerRevision
        header = .init(h)
        watchID = r.watchID
        created = r.created
        canceled = r.canceled
        compactRevision = r.compactRevision
        cancelReason = r.cancelReason
        fragment = r.fragment
    }
}

extension Mvccpb_Event {
    init(_ e: Event) {
        self.init()
        type = e.kind == .put ? .put : .delete
        kv = .init(e.kv)
        if let prev = e.prevKv { prevKv = .init(prev) }
    }
}
