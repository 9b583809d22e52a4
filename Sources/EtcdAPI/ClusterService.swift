import EtcdServer
import GRPCCore

/// `etcdserverpb.Cluster`: membership. Changes arrive with the cluster issue;
/// until then they answer UNIMPLEMENTED rather than pretending.
struct ClusterService: Etcdserverpb_Cluster.SimpleServiceProtocol {
    let server: EtcdServer

    func memberList(
        request: Etcdserverpb_MemberListRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberListResponse {
        let (members, header) = await server.memberList()
        var response = Etcdserverpb_MemberListResponse()
        response.header = .init(header)
        response.members = members.map { m in
            var out = Etcdserverpb_Member()
            out.id = m.id
            out.name = m.name
            out.peerUrls = m.peerURLs
            out.clientUrls = m.clientURLs
            out.isLearner = m.isLearner
            return out
        }
        return response
    }

    func memberAdd(
        request: Etcdserverpb_MemberAddRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberAddResponse {
        throw RPCError(code: .unimplemented, message: "member add is not implemented yet")
    }

    func memberRemove(
        request: Etcdserverpb_MemberRemoveRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberRemoveResponse {
        throw RPCError(code: .unimplemented, message: "member remove is not implemented yet")
    }

    func memberUpdate(
        request: Etcdserverpb_MemberUpdateRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberUpdateResponse {
        throw RPCError(code: .unimplemented, message: "member update is not implemented yet")
    }

    func memberPromote(
        request: Etcdserverpb_MemberPromoteRequest, context: ServerContext
    ) async throws -> Etcdserverpb_MemberPromoteResponse {
        throw RPCError(code: .unimplemented, message: "member promote is not implemented yet")
    }
}
