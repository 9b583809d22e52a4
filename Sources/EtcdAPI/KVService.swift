import EtcdServer
import GRPCCore
import MVCC

/// `etcdserverpb.KV`: translates each call to the server and back. The
/// translation is written once, in the unnamed-argument methods; the
/// grpc-swift conformance (used by the JSON gateway, and by the client port
/// when `SWIFT_ETCD_GRPC_SERVER=grpc-swift`) and the lean server's table
/// both call those.
struct KVService: Etcdserverpb_KV.SimpleServiceProtocol {
    let server: EtcdServer

    func range(_ request: Etcdserverpb_RangeRequest) async throws(RPCError) -> Etcdserverpb_RangeResponse {
        let (response, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.range(RangeRequest(request))
        }
        return .init(response, header: header)
    }

    func put(_ request: Etcdserverpb_PutRequest) async throws(RPCError) -> Etcdserverpb_PutResponse {
        let (response, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.put(PutRequest(request))
        }
        return .init(response, header: header)
    }

    func deleteRange(_ request: Etcdserverpb_DeleteRangeRequest) async throws(RPCError) -> Etcdserverpb_DeleteRangeResponse {
        let (response, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.deleteRange(DeleteRangeRequest(request))
        }
        return .init(response, header: header)
    }

    func txn(_ request: Etcdserverpb_TxnRequest) async throws(RPCError) -> Etcdserverpb_TxnResponse {
        guard let txn = TxnRequest(request) else { throw RPCError(EtcdError.keyNotFound) }
        let (response, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.txn(txn)
        }
        return .init(response, header: header)
    }

    func compact(_ request: Etcdserverpb_CompactionRequest) async throws(RPCError) -> Etcdserverpb_CompactionResponse {
        let header = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.compact(CompactionRequest(revision: request.revision, physical: request.physical))
        }
        var response = Etcdserverpb_CompactionResponse()
        response.header = .init(header)
        return response
    }

    // MARK: grpc-swift

    func range(request: Etcdserverpb_RangeRequest, context: ServerContext) async throws -> Etcdserverpb_RangeResponse {
        try await range(request)
    }

    func put(request: Etcdserverpb_PutRequest, context: ServerContext) async throws -> Etcdserverpb_PutResponse {
        try await put(request)
    }

    func deleteRange(
        request: Etcdserverpb_DeleteRangeRequest, context: ServerContext
    ) async throws -> Etcdserverpb_DeleteRangeResponse {
        try await deleteRange(request)
    }

    func txn(request: Etcdserverpb_TxnRequest, context: ServerContext) async throws -> Etcdserverpb_TxnResponse {
        try await txn(request)
    }

    func compact(
        request: Etcdserverpb_CompactionRequest, context: ServerContext
    ) async throws -> Etcdserverpb_CompactionResponse {
        try await compact(request)
    }
}

extension KVService: LeanRPCService {
    func registerLeanMethods(in table: inout LeanRPCMethodTable) {
        typealias M = Etcdserverpb_KV.Method
        table.unary(M.Range.descriptor, range(_:))
        table.unary(M.Put.descriptor, put(_:))
        table.unary(M.DeleteRange.descriptor, deleteRange(_:))
        table.unary(M.Txn.descriptor, txn(_:))
        table.unary(M.Compact.descriptor, compact(_:))
    }
}
