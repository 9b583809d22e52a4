import EtcdServer
import GRPCCore
import MVCC

/// `etcdserverpb.KV`: translates each call to the server and back.
struct KVService: Etcdserverpb_KV.SimpleServiceProtocol {
    let server: EtcdServer

    func range(request: Etcdserverpb_RangeRequest, context: ServerContext) async throws -> Etcdserverpb_RangeResponse {
        let (response, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.range(RangeRequest(request))
        }
        return .init(response, header: header)
    }

    func put(request: Etcdserverpb_PutRequest, context: ServerContext) async throws -> Etcdserverpb_PutResponse {
        let (response, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.put(PutRequest(request))
        }
        return .init(response, header: header)
    }

    func deleteRange(
        request: Etcdserverpb_DeleteRangeRequest, context: ServerContext
    ) async throws -> Etcdserverpb_DeleteRangeResponse {
        let (response, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.deleteRange(DeleteRangeRequest(request))
        }
        return .init(response, header: header)
    }

    func txn(request: Etcdserverpb_TxnRequest, context: ServerContext) async throws -> Etcdserverpb_TxnResponse {
        guard let txn = TxnRequest(request) else { throw RPCError(EtcdError.keyNotFound) }
        let (response, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.txn(txn)
        }
        return .init(response, header: header)
    }

    func compact(
        request: Etcdserverpb_CompactionRequest, context: ServerContext
    ) async throws -> Etcdserverpb_CompactionResponse {
        let header = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.compact(CompactionRequest(revision: request.revision, physical: request.physical))
        }
        var response = Etcdserverpb_CompactionResponse()
        response.header = .init(header)
        return response
    }
}
