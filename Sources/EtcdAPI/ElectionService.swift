import EtcdServer
import Foundation
import GRPCCore
import MVCC

/// `v3electionpb.Election`: translates each call to the server's election
/// recipe (`EtcdServer+Election`) and back; errors as etcd sends them from
/// this service (`withRecipeErrors`). The translation is in the
/// unnamed-argument methods, shared by the grpc-swift conformance and the
/// lean server (see `KVService`).
struct ElectionService: V3electionpb_Election.SimpleServiceProtocol {
    let server: EtcdServer

    /// etcd's `ErrMissingLeaderKey`, for a Proclaim or Resign without a
    /// leader (a plain Go error, so `Unknown`).
    static let missingLeaderKey = RPCError(code: .unknown, message: "\"leader\" field must be provided")

    func campaign(_ request: V3electionpb_CampaignRequest) async throws(RPCError) -> V3electionpb_CampaignResponse {
        let (leader, header) = try await withRecipeErrors { () async throws(EtcdError) in
            try await server.campaign(name: [UInt8](request.name), lease: request.lease, value: [UInt8](request.value))
        }
        var response = V3electionpb_CampaignResponse()
        response.header = .init(header)
        response.leader = .init(leader)
        return response
    }

    func proclaim(_ request: V3electionpb_ProclaimRequest) async throws(RPCError) -> V3electionpb_ProclaimResponse {
        guard request.hasLeader else { throw Self.missingLeaderKey }
        let header = try await withRecipeErrors { () async throws(EtcdError) in
            try await server.proclaim(LeaderKey(request.leader), value: [UInt8](request.value))
        }
        var response = V3electionpb_ProclaimResponse()
        response.header = .init(header)
        return response
    }

    func leader(_ request: V3electionpb_LeaderRequest) async throws(RPCError) -> V3electionpb_LeaderResponse {
        let (kv, header) = try await withRecipeErrors { () async throws(EtcdError) in
            try await server.electionLeader(name: [UInt8](request.name))
        }
        return .init(kv, header: header)
    }

    /// One response per leader and per value it proclaims, until the client
    /// goes away (or, as with etcd, the end of the stream without an error
    /// when reading or watching fails).
    func observe(_ request: V3electionpb_LeaderRequest, send: (V3electionpb_LeaderResponse) async throws -> Void) async throws {
        try await server.observeElection(name: [UInt8](request.name)) { kv, header in
            try await send(.init(kv, header: header))
        }
    }

    func resign(_ request: V3electionpb_ResignRequest) async throws(RPCError) -> V3electionpb_ResignResponse {
        guard request.hasLeader else { throw Self.missingLeaderKey }
        let header = try await withRecipeErrors { () async throws(EtcdError) in
            try await server.resign(LeaderKey(request.leader))
        }
        var response = V3electionpb_ResignResponse()
        response.header = .init(header)
        return response
    }

    // MARK: grpc-swift

    func campaign(
        request: V3electionpb_CampaignRequest, context: ServerContext
    ) async throws -> V3electionpb_CampaignResponse {
        try await withRPCCancellation { try await campaign(request) }
    }

    func proclaim(
        request: V3electionpb_ProclaimRequest, context: ServerContext
    ) async throws -> V3electionpb_ProclaimResponse {
        try await proclaim(request)
    }

    func leader(request: V3electionpb_LeaderRequest, context: ServerContext) async throws -> V3electionpb_LeaderResponse {
        try await leader(request)
    }

    func observe(
        request: V3electionpb_LeaderRequest, response: RPCWriter<V3electionpb_LeaderResponse>, context: ServerContext
    ) async throws {
        try await withRPCCancellation { try await observe(request) { try await response.write($0) } }
    }

    func resign(request: V3electionpb_ResignRequest, context: ServerContext) async throws -> V3electionpb_ResignResponse {
        try await resign(request)
    }
}

extension ElectionService: LeanRPCService {
    func registerLeanMethods(in table: inout LeanRPCMethodTable) {
        typealias M = V3electionpb_Election.Method
        table.unary(M.Campaign.descriptor, campaign(_:))
        table.unary(M.Proclaim.descriptor, proclaim(_:))
        table.unary(M.Leader.descriptor, leader(_:))
        table.unary(M.Resign.descriptor, resign(_:))
        table.serverStreaming(M.Observe.descriptor, observe(_:send:))
    }
}

extension LeaderKey {
    init(_ key: V3electionpb_LeaderKey) {
        self.init(name: [UInt8](key.name), key: [UInt8](key.key), revision: key.rev, lease: key.lease)
    }
}

extension V3electionpb_LeaderKey {
    init(_ key: LeaderKey) {
        self.init()
        name = Data(key.name)
        self.key = Data(key.key)
        rev = key.revision
        lease = key.lease
    }
}

extension V3electionpb_LeaderResponse {
    init(_ kv: KeyValue, header h: ResponseHeader) {
        self.init()
        header = .init(h)
        self.kv = .init(kv)
    }
}
