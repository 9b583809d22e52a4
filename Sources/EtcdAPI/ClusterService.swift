import EtcdServer
import GRPCCore

/// `etcdserverpb.Cluster`: the member list and runtime membership changes.
struct ClusterService: Etcdserverpb_Cluster.SimpleServiceProtocol {
    let server: EtcdServer

    func memberList(
        request: Etcdserverpb_MemberListRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberListResponse {
        let (members, header) = await server.memberList()
        var response = Etcdserverpb_MemberListResponse()
        response.header = .init(membership: header)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    func memberAdd(
        request: Etcdserverpb_MemberAddRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberAddResponse {
        let (member, members, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.addMember(peerURLs: request.peerUrls, isLearner: request.isLearner)
        }
        var response = Etcdserverpb_MemberAddResponse()
        response.header = .init(membership: header)
        response.member = .init(member)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    func memberRemove(
        request: Etcdserverpb_MemberRemoveRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberRemoveResponse {
        let (members, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.removeMember(id: request.id)
        }
        var response = Etcdserverpb_MemberRemoveResponse()
        response.header = .init(membership: header)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    func memberUpdate(
        request: Etcdserverpb_MemberUpdateRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberUpdateResponse {
        let (members, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.updateMember(id: request.id, peerURLs: request.peerUrls)
        }
        var response = Etcdserverpb_MemberUpdateResponse()
        response.header = .init(membership: header)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
    }

    func memberPromote(
        request: Etcdserverpb_MemberPromoteRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberPromoteResponse {
        let (members, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.promoteMember(id: request.id)
        }
        var response = Etcdserverpb_MemberPromoteResponse()
        response.header = .init(membership: header)
        response.members = members.map(Etcdserverpb_Member.init)
        return response
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
