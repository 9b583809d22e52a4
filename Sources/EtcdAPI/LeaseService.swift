import EtcdServer
import GRPCCore
import Foundation
import MVCC

/// `etcdserverpb.Lease`: grant, revoke, keep-alive stream, time-to-live, list.
/// The translation is in the unnamed-argument methods, shared by the
/// grpc-swift conformance and the lean server (see `KVService`).
struct LeaseService: Etcdserverpb_Lease.SimpleServiceProtocol {
    let server: EtcdServer
    /// Keep-alives reaching a follower go to the leader through this.
    let forwarder: LeaderForwarder

    func leaseGrant(_ request: Etcdserverpb_LeaseGrantRequest) async throws(RPCError) -> Etcdserverpb_LeaseGrantResponse {
        let (lease, header) = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.leaseGrant(id: request.id, ttl: request.ttl)
        }
        var response = Etcdserverpb_LeaseGrantResponse()
        response.header = .init(header)
        response.id = lease.id
        response.ttl = lease.ttl
        return response
    }

    func leaseRevoke(_ request: Etcdserverpb_LeaseRevokeRequest) async throws(RPCError) -> Etcdserverpb_LeaseRevokeResponse {
        let header = try await withEtcdErrors { () async throws(EtcdError) in
            try await server.leaseRevoke(request.id)
        }
        var response = Etcdserverpb_LeaseRevokeResponse()
        response.header = .init(header)
        return response
    }

    /// The answer to one keep-alive of the stream. etcd answers a keep-alive
    /// for an unknown lease with TTL 0 rather than an error, so the stream
    /// stays usable for the client's other leases.
    func keepAlive(_ keepAlive: Etcdserverpb_LeaseKeepAliveRequest) async throws -> Etcdserverpb_LeaseKeepAliveResponse {
        var out = Etcdserverpb_LeaseKeepAliveResponse()
        out.id = keepAlive.id
        do {
            let (ttl, header) = try await server.leaseRenew(keepAlive.id)
            out.header = .init(header)
            out.ttl = ttl
        } catch .notLeader {
            let url = try await withEtcdErrors { () async throws(EtcdError) in try await server.leaderClientURL() }
            out.ttl = try await forwarder.renew(keepAlive.id, leaderURL: url)
            out.header = .init(await server.currentHeader())
        } catch .leaseNotFound {
            out.header = .init(await server.currentHeader())
            out.ttl = 0
        } catch {
            throw RPCError(error)
        }
        return out
    }

    /// etcd reports an unknown lease as TTL -1, not as an error.
    func leaseTimeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        if await !server.isLeader, await server.hasLeader {
            let url = try await withEtcdErrors { () async throws(EtcdError) in try await server.leaderClientURL() }
            var response = try await forwarder.timeToLive(request, leaderURL: url)
            response.header = .init(await server.currentHeader())
            return response
        }
        var response = Etcdserverpb_LeaseTimeToLiveResponse()
        response.id = request.id
        do {
            let (info, header) = try await server.leaseTimeToLive(request.id, keys: request.keys)
            response.header = .init(header)
            response.ttl = info.ttl
            response.grantedTtl = info.grantedTTL
            response.keys = info.keys.map { Data($0) }
        } catch .leaseNotFound {
            response.header = .init(await server.currentHeader())
            response.ttl = -1
        } catch {
            throw RPCError(error)
        }
        return response
    }

    func leaseLeases(_ request: Etcdserverpb_LeaseLeasesRequest) async -> Etcdserverpb_LeaseLeasesResponse {
        let (ids, header) = await server.leaseList()
        var response = Etcdserverpb_LeaseLeasesResponse()
        response.header = .init(header)
        response.leases = ids.map { id in
            var status = Etcdserverpb_LeaseStatus()
            status.id = id
            return status
        }
        return response
    }

    // MARK: grpc-swift

    func leaseGrant(
        request: Etcdserverpb_LeaseGrantRequest, context: ServerContext
    ) async throws -> Etcdserverpb_LeaseGrantResponse {
        try await leaseGrant(request)
    }

    func leaseRevoke(
        request: Etcdserverpb_LeaseRevokeRequest, context: ServerContext
    ) async throws -> Etcdserverpb_LeaseRevokeResponse {
        try await leaseRevoke(request)
    }

    func leaseKeepAlive(
        request: RPCAsyncSequence<Etcdserverpb_LeaseKeepAliveRequest, any Error>,
        response: RPCWriter<Etcdserverpb_LeaseKeepAliveResponse>,
        context: ServerContext
    ) async throws {
        for try await message in request {
            try await response.write(try await keepAlive(message))
        }
    }

    func leaseTimeToLive(
        request: Etcdserverpb_LeaseTimeToLiveRequest, context: ServerContext
    ) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        try await leaseTimeToLive(request)
    }

    func leaseLeases(
        request: Etcdserverpb_LeaseLeasesRequest, context: ServerContext
    ) async throws -> Etcdserverpb_LeaseLeasesResponse {
        await leaseLeases(request)
    }
}

extension LeaseService: LeanRPCService {
    func registerLeanMethods(in table: inout LeanRPCMethodTable) {
        typealias M = Etcdserverpb_Lease.Method
        table.unary(M.LeaseGrant.descriptor, leaseGrant(_:))
        table.unary(M.LeaseRevoke.descriptor, leaseRevoke(_:))
        table.unary(M.LeaseTimeToLive.descriptor, leaseTimeToLive(_:))
        table.unary(M.LeaseLeases.descriptor, leaseLeases(_:))
        // The stream ends when the client stops sending (etcd's loop returns on EOF).
        table.streaming(M.LeaseKeepAlive.descriptor) { requests, writer in
            for try await bytes in requests {
                let request = try LeanRPCMethodTable.decode(Etcdserverpb_LeaseKeepAliveRequest.self, bytes)
                try await writer.write(try LeanRPCMethodTable.encode(try await keepAlive(request)))
            }
        }
    }
}
