import EtcdServer
import Foundation
import GRPCCore

/// `etcdserverpb.Maintenance`: status, alarms, defragment, Hash, HashKV,
/// MoveLeader and Snapshot (etcd's bolt file, streamed). Translation shared by grpc-swift and the lean server
/// (see `KVService`).
struct MaintenanceService: Etcdserverpb_Maintenance.SimpleServiceProtocol {
    let server: EtcdServer

    func status(_ request: Etcdserverpb_StatusRequest) async -> Etcdserverpb_StatusResponse {
        let s = await server.status()
        var response = Etcdserverpb_StatusResponse()
        response.header = .init(s.header)
        response.version = s.version
        response.dbSize = s.dbSize
        response.leader = s.leader
        response.raftIndex = s.raftIndex
        response.raftTerm = s.raftTerm
        response.raftAppliedIndex = s.raftAppliedIndex
        response.dbSizeInUse = s.dbSizeInUse
        response.isLearner = s.isLearner
        response.errors = s.errors
        return response
    }

    func alarm(_ request: Etcdserverpb_AlarmRequest) async throws(RPCError) -> Etcdserverpb_AlarmResponse {
        let action: EtcdServer.AlarmAction =
            switch request.action {
            case .activate: .activate
            case .deactivate: .deactivate
            default: .get
            }
        let type = AlarmType(rawValue: request.alarm.rawValue) ?? .none
        // etcd's applier answers alarm requests without a header.
        let (alarms, _) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.alarm(action: action, memberID: request.memberID, type: type)
        }
        var response = Etcdserverpb_AlarmResponse()
        response.alarms = alarms.map { a in
            var m = Etcdserverpb_AlarmMember()
            m.memberID = a.memberID
            m.alarm = Etcdserverpb_AlarmType(rawValue: a.alarm.rawValue) ?? .none
            return m
        }
        return response
    }

    func defragment(_ request: Etcdserverpb_DefragmentRequest) async throws(RPCError) -> Etcdserverpb_DefragmentResponse {
        try await withEtcdErrors { () async throws(EtcdError) in try await server.authorizeMaintenance() }
        var response = Etcdserverpb_DefragmentResponse()
        response.header = .init(await server.defragment())
        return response
    }

    func hash(_ request: Etcdserverpb_HashRequest) async throws(RPCError) -> Etcdserverpb_HashResponse {
        let (hash, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.authorizeMaintenance()
            return try await server.hash()
        }
        var response = Etcdserverpb_HashResponse()
        response.header = .init(header)
        response.hash = hash
        return response
    }

    func hashKV(_ request: Etcdserverpb_HashKVRequest) async throws(RPCError) -> Etcdserverpb_HashKVResponse {
        let (hash, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.authorizeMaintenance()
            return try await server.hashKV(revision: request.revision)
        }
        var response = Etcdserverpb_HashKVResponse()
        response.header = .init(header)
        response.hash = hash.hash
        response.compactRevision = hash.compactRevision
        return response
    }

    /// etcd's Snapshot, independent of the gRPC server: the bbolt file in
    /// 32 KiB messages with `remaining_bytes`, then its SHA-256, each
    /// handed to `send` (grpc-swift's writer here; any server that can
    /// write a message can call this). A refusal (auth) or a failure to
    /// build the file is thrown before the first message, as a status.
    func snapshot(
        _ request: Etcdserverpb_SnapshotRequest, send: (Etcdserverpb_SnapshotResponse) async throws -> Void
    ) async throws {
        let snapshot = try await withEtcdErrors { () async throws(EtcdError) in try await server.snapshot() }
        for try await chunk in snapshot {
            var message = Etcdserverpb_SnapshotResponse()
            message.remainingBytes = chunk.remainingBytes
            message.blob = Data(chunk.blob)
            try await send(message)
        }
    }

    /// etcd answers an empty response (not even a header) on success.
    func moveLeader(_ request: Etcdserverpb_MoveLeaderRequest) async throws(RPCError) -> Etcdserverpb_MoveLeaderResponse {
        try await withEtcdErrors { () async throws(EtcdError) in
            try await server.moveLeader(to: request.targetID)
        }
        return Etcdserverpb_MoveLeaderResponse()
    }

    // MARK: grpc-swift

    func status(request: Etcdserverpb_StatusRequest, context: ServerContext) async throws -> Etcdserverpb_StatusResponse {
        await status(request)
    }

    func alarm(request: Etcdserverpb_AlarmRequest, context: ServerContext) async throws -> Etcdserverpb_AlarmResponse {
        try await alarm(request)
    }

    func defragment(
        request: Etcdserverpb_DefragmentRequest, context: ServerContext
    ) async throws -> Etcdserverpb_DefragmentResponse {
        try await defragment(request)
    }

    func hash(request: Etcdserverpb_HashRequest, context: ServerContext) async throws -> Etcdserverpb_HashResponse {
        try await hash(request)
    }

    func hashKV(request: Etcdserverpb_HashKVRequest, context: ServerContext) async throws -> Etcdserverpb_HashKVResponse {
        try await hashKV(request)
    }

    func snapshot(
        request: Etcdserverpb_SnapshotRequest, response: RPCWriter<Etcdserverpb_SnapshotResponse>,
        context: ServerContext
    ) async throws {
        try await snapshot(request) { try await response.write($0) }
    }

    func moveLeader(
        request: Etcdserverpb_MoveLeaderRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MoveLeaderResponse {
        try await moveLeader(request)
    }
}

extension MaintenanceService: LeanRPCService {
    func registerLeanMethods(in table: inout LeanRPCMethodTable) {
        typealias M = Etcdserverpb_Maintenance.Method
        table.unary(M.Status.descriptor, status(_:))
        table.unary(M.Alarm.descriptor, alarm(_:))
        table.unary(M.Defragment.descriptor, defragment(_:))
        table.unary(M.Hash.descriptor, hash(_:))
        table.unary(M.HashKV.descriptor, hashKV(_:))
        table.unary(M.MoveLeader.descriptor, moveLeader(_:))
        table.serverStreaming(M.Snapshot.descriptor, snapshot(_:send:))
    }
}
