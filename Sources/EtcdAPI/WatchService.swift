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
                        for r in responses {
                            try await response.write(Etcdserverpb_WatchResponse(r, header: header))
                        }
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

extension Etcdserverpb_WatchResponse {
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
        events = r.events.map(Mvccpb_Event.init)
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
