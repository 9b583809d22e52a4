import EtcdServer
import GRPCCore

/// `etcdserverpb.Cluster`: the member list and runtime membership changes
/// (translation shared by grpc-swift and the lean server, see `KVService`).
struct ClusterService: Etcdserverpb_Cluster.SimpleServiceProtocol {
    let server: EtcdServer

    func memberList(_ request: Etcdserverpb_MemberListRequest) async -> Etcdserverpb_MemberListResponse {
        let (members, header) = await server.memberList()
        var response = Etcdserverpb_MemberListResponse()
        response.header = .init(membership: header)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    func memberAdd(_ request: Etcdserverpb_MemberAddRequest) async throws(RPCError) -> Etcdserverpb_MemberAddResponse {
        let (member, members, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.addMember(peerURLs: request.peerUrls, isLearner: request.isLearner)
        }
        var response = Etcdserverpb_MemberAddResponse()
        response.header = .init(membership: header)
        response.member = .init(member)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    func memberRemove(_ request: Etcdserverpb_MemberRemoveRequest) async throws(RPCError) -> Etcdserverpb_MemberRemoveResponse {
        let (members, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.removeMember(id: request.id)
        }
        var response = Etcdserverpb_MemberRemoveResponse()
        response.header = .init(membership: header)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    func memberUpdate(_ request: Etcdserverpb_MemberUpdateRequest) async throws(RPCError) -> Etcdserverpb_MemberUpdateResponse {
        let (members, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.updateMember(id: request.id, peerURLs: request.peerUrls)
        }
        var response = Etcdserverpb_MemberUpdateResponse()
        response.header = .init(membership: header)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    func memberPromote(_ request: Etcdserverpb_MemberPromoteRequest) async throws(RPCError) -> Etcdserverpb_MemberPromoteResponse {
        let (members, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.promoteMember(id: request.id)
        }
        var response = Etcdserverpb_MemberPromoteResponse()
        response.header = .init(membership: header)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    // MARK: grpc-swift

    func memberList(
        request: Etcdserverpb_MemberListRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberListResponse {
        await memberList(request)
    }

    func memberAdd(
        request: Etcdserverpb_MemberAddRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberAddResponse {
        try await memberAdd(request)
    }

    func memberRemove(
        request: Etcdserverpb_MemberRemoveRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberRemoveResponse {
        try await memberRemove(request)
    }

    func memberUpdate(
        request: Etcdserverpb_MemberUpdateRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberUpdateResponse {
        try await memberUpdate(request)
    }

    func memberPromote(
        request: Etcdserverpb_MemberPromoteRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberPromoteResponse {
        try await memberPromote(request)
    }
}

extension ClusterService: LeanRPCService {
    func registerLeanMethods(in table: inout LeanRPCMethodTable) {
        typealias M = Etcdserverpb_Cluster.Method
        table.unary(M.MemberList.descriptor, memberList(_:))
        table.unary(M.MemberAdd.descriptor, memberAdd(_:))
        table.unary(M.MemberRemove.descriptor, memberRemove(_:))
        table.unary(M.MemberUpdate.descriptor, memberUpdate(_:))
        table.unary(M.MemberPromote.descriptor, memberPromote(_:))
    }
}

extension Etcdserverpb_Member {
    init(_ m: Member) {
        self.init()
        id = m.id
        name = m.name
        peerUrls = m.peerURLs
        clientUrls = m.clientURLs
        isLearner = m.isLearner
    }
}

extension Etcdserverpb_ResponseHeader {
    /// etcd's Cluster service answers with the cluster, member and term
    /// only (`clusterServer.header`): membership is not in the key space,
    /// so no revision.
    init(membership h: ResponseHeader) {
        self.init(h)
        revision = 0
    }
}
