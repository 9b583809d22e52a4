import EtcdServer
import Foundation
import GRPCCore

/// `v3lockpb.Lock`: translates each call to the server's lock recipe
/// (`EtcdServer+Lock`) and back; errors as etcd sends them from this
/// service (`withRecipeErrors`). The translation is in the unnamed-argument
/// methods, shared by the grpc-swift conformance and the lean server (see
/// `KVService`).
struct LockService: V3lockpb_Lock.SimpleServiceProtocol {
    let server: EtcdServer

    func lock(_ request: V3lockpb_LockRequest) async throws(RPCError) -> V3lockpb_LockResponse {
        let (key, header) = try await withRecipeErrors { () async throws(EtcdError) in
            try await server.lock(name: [UInt8](request.name), lease: request.lease)
        }
        var response = V3lockpb_LockResponse()
        response.header = .init(header)
        response.key = Data(key)
        return response
    }

    func unlock(_ request: V3lockpb_UnlockRequest) async throws(RPCError) -> V3lockpb_UnlockResponse {
        let header = try await withRecipeErrors { () async throws(EtcdError) in
            try await server.unlock(key: [UInt8](request.key))
        }
        var response = V3lockpb_UnlockResponse()
        response.header = .init(header)
        return response
    }

    // MARK: grpc-swift

    func lock(request: V3lockpb_LockRequest, context: ServerContext) async throws -> V3lockpb_LockResponse {
        try await withRPCCancellation { try await lock(request) }
    }

    func unlock(request: V3lockpb_UnlockRequest, context: ServerContext) async throws -> V3lockpb_UnlockResponse {
        try await unlock(request)
    }
}

extension LockService: LeanRPCService {
    func registerLeanMethods(in table: inout LeanRPCMethodTable) {
        typealias M = V3lockpb_Lock.Method
        table.unary(M.Lock.descriptor, lock(_:))
        table.unary(M.Unlock.descriptor, unlock(_:))
    }
}
