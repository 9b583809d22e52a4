import EtcdServer
import GRPCCore
import MVCC

/// `etcdserverpb.Watch`: one bidirectional stream carries many watchers.
/// A receiver task turns client requests into hub calls; a sender task
/// drains the stream's queue whenever the server signals it.
struct WatchService: Etcdserverpb_Watch.SimpleServiceProtocol {
    let server: EtcdServer

    func watch(
        request: RPCAsyncSequence<Etcdserverpb_WatchRequest, any Error>,
        response: RPCWriter<Etcdserverpb_WatchResponse>,
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
                        try await response.write(contentsOf: Self.messages(responses, header: header))
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

    private func handle(_ message: Etcdserverpb_WatchRequest, on stream: WatchStreamID) async {
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
            await server.createWatch(request, on: stream)
        case .cancelRequest(let cancel):
            await server.cancelWatch(cancel.watchID, on: stream)
        case .progressRequest:
            await server.requestWatchProgress(on: stream)
        case nil:
            break
        }
    }
}

extension WatchService {
    /// The protobuf messages for a drained batch. The hub hands every
    /// watcher that gets the same events (same revision, range group and
    /// options) the same array, so each such array is converted once per
    /// batch and the converted array is shared by all their messages.
    static func messages(_ responses: [WatchResponse], header: ResponseHeader) -> [Etcdserverpb_WatchResponse] {
        var messages: [Etcdserverpb_WatchResponse] = []
        messages.reserveCapacity(responses.count)
        // The buffers are kept alive by `responses` for the whole loop, so
        // an address names one array.
        var lastEvents: UnsafeRawPointer?
        var lastConverted: [Mvccpb_Event] = []
        for r in responses {
            var converted: [Mvccpb_Event] = []
            if !r.events.isEmpty {
                let address = r.events.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
                if address != lastEvents || lastConverted.count != r.events.count {
                    lastConverted = r.events.map(Mvccpb_Event.init)
                    lastEvents = address
                }
                converted = lastConverted
            }
            messages.append(Etcdserverpb_WatchResponse(r, header: header, events: converted))
        }
        return messages
    }
}

extension Etcdserverpb_WatchResponse {
    init(_ r: WatchResponse, header h: ResponseHeader, events: [Mvccpb_Event]) {
        self.init()
        var h = h
        h.revision = r.headerRevision
        header = .init(h)
        watchID = r.watchID
        created = r.created
        canceled = r.canceled
        compactRevision = r.compactRevision
        cancelReason = r.cancelReason
        fragment = r.fragment
        self.events = events
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
