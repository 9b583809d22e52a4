import GRPCCore
import SwiftProtobuf

/// etcd 3.4's gateway routes (`etcdserverpb/gw/rpc.pb.gw.go`,
/// `v3lockpb/gw/v3lock.pb.gw.go`, `v3electionpb/gw/v3election.pb.gw.go`),
/// all POST, under `/v3/` (`/v3beta/` is rewritten to it).
enum GatewayRoutes {
    static func table(maxBodyBytes: Int) -> [String: any GatewayRoute] {
        func unary<I: SwiftProtobuf.Message, O: SwiftProtobuf.Message>(_ descriptor: MethodDescriptor, _: I.Type, _: O.Type) -> any GatewayRoute {
            UnaryRoute<I, O>(method: descriptor, maxBodyBytes: maxBodyBytes)
        }
        typealias KV = Etcdserverpb_KV.Method
        typealias Lease = Etcdserverpb_Lease.Method
        typealias Cluster = Etcdserverpb_Cluster.Method
        typealias Maintenance = Etcdserverpb_Maintenance.Method
        typealias Auth = Etcdserverpb_Auth.Method
        typealias Lock = V3lockpb_Lock.Method
        typealias Election = V3electionpb_Election.Method
        let leaseTimeToLive = unary(Lease.LeaseTimeToLive.descriptor, Lease.LeaseTimeToLive.Input.self, Lease.LeaseTimeToLive.Output.self)
        let leaseRevoke = unary(Lease.LeaseRevoke.descriptor, Lease.LeaseRevoke.Input.self, Lease.LeaseRevoke.Output.self)
        let leaseLeases = unary(Lease.LeaseLeases.descriptor, Lease.LeaseLeases.Input.self, Lease.LeaseLeases.Output.self)
        return [
            "/v3/kv/range": unary(KV.Range.descriptor, KV.Range.Input.self, KV.Range.Output.self),
            "/v3/kv/put": unary(KV.Put.descriptor, KV.Put.Input.self, KV.Put.Output.self),
            "/v3/kv/deleterange": unary(KV.DeleteRange.descriptor, KV.DeleteRange.Input.self, KV.DeleteRange.Output.self),
            "/v3/kv/txn": unary(KV.Txn.descriptor, KV.Txn.Input.self, KV.Txn.Output.self),
            "/v3/kv/compaction": unary(KV.Compact.descriptor, KV.Compact.Input.self, KV.Compact.Output.self),
            "/v3/watch": BidirectionalRoute<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse>(
                method: Etcdserverpb_Watch.Method.Watch.descriptor, keepsCallOpen: true),
            "/v3/lease/grant": unary(Lease.LeaseGrant.descriptor, Lease.LeaseGrant.Input.self, Lease.LeaseGrant.Output.self),
            "/v3/lease/revoke": leaseRevoke,
            "/v3/kv/lease/revoke": leaseRevoke,
            "/v3/lease/keepalive": BidirectionalRoute<Lease.LeaseKeepAlive.Input, Lease.LeaseKeepAlive.Output>(
                method: Lease.LeaseKeepAlive.descriptor, keepsCallOpen: false),
            "/v3/lease/timetolive": leaseTimeToLive,
            "/v3/kv/lease/timetolive": leaseTimeToLive,
            "/v3/lease/leases": leaseLeases,
            "/v3/kv/lease/leases": leaseLeases,
            "/v3/cluster/member/add": unary(Cluster.MemberAdd.descriptor, Cluster.MemberAdd.Input.self, Cluster.MemberAdd.Output.self),
            "/v3/cluster/member/remove": unary(
                Cluster.MemberRemove.descriptor, Cluster.MemberRemove.Input.self, Cluster.MemberRemove.Output.self),
            "/v3/cluster/member/update": unary(
                Cluster.MemberUpdate.descriptor, Cluster.MemberUpdate.Input.self, Cluster.MemberUpdate.Output.self),
            "/v3/cluster/member/list": unary(Cluster.MemberList.descriptor, Cluster.MemberList.Input.self, Cluster.MemberList.Output.self),
            "/v3/cluster/member/promote": unary(
                Cluster.MemberPromote.descriptor, Cluster.MemberPromote.Input.self, Cluster.MemberPromote.Output.self),
            "/v3/maintenance/alarm": unary(Maintenance.Alarm.descriptor, Maintenance.Alarm.Input.self, Maintenance.Alarm.Output.self),
            "/v3/maintenance/status": unary(Maintenance.Status.descriptor, Maintenance.Status.Input.self, Maintenance.Status.Output.self),
            "/v3/maintenance/defragment": unary(
                Maintenance.Defragment.descriptor, Maintenance.Defragment.Input.self, Maintenance.Defragment.Output.self),
            // etcd registers Hash and HashKV on the same path; the first wins.
            "/v3/maintenance/hash": unary(Maintenance.Hash.descriptor, Maintenance.Hash.Input.self, Maintenance.Hash.Output.self),
            "/v3/maintenance/snapshot": ServerStreamingRoute<Maintenance.Snapshot.Input, Maintenance.Snapshot.Output>(
                method: Maintenance.Snapshot.descriptor, maxBodyBytes: maxBodyBytes),
            "/v3/maintenance/transfer-leadership": unary(
                Maintenance.MoveLeader.descriptor, Maintenance.MoveLeader.Input.self, Maintenance.MoveLeader.Output.self),
            "/v3/auth/enable": unary(Auth.AuthEnable.descriptor, Auth.AuthEnable.Input.self, Auth.AuthEnable.Output.self),
            "/v3/auth/disable": unary(Auth.AuthDisable.descriptor, Auth.AuthDisable.Input.self, Auth.AuthDisable.Output.self),
            "/v3/auth/authenticate": unary(Auth.Authenticate.descriptor, Auth.Authenticate.Input.self, Auth.Authenticate.Output.self),
            "/v3/auth/user/add": unary(Auth.UserAdd.descriptor, Auth.UserAdd.Input.self, Auth.UserAdd.Output.self),
            "/v3/auth/user/get": unary(Auth.UserGet.descriptor, Auth.UserGet.Input.self, Auth.UserGet.Output.self),
            "/v3/auth/user/list": unary(Auth.UserList.descriptor, Auth.UserList.Input.self, Auth.UserList.Output.self),
            "/v3/auth/user/delete": unary(Auth.UserDelete.descriptor, Auth.UserDelete.Input.self, Auth.UserDelete.Output.self),
            "/v3/auth/user/changepw": unary(
                Auth.UserChangePassword.descriptor, Auth.UserChangePassword.Input.self, Auth.UserChangePassword.Output.self),
            "/v3/auth/user/grant": unary(Auth.UserGrantRole.descriptor, Auth.UserGrantRole.Input.self, Auth.UserGrantRole.Output.self),
            "/v3/auth/user/revoke": unary(
                Auth.UserRevokeRole.descriptor, Auth.UserRevokeRole.Input.self, Auth.UserRevokeRole.Output.self),
            "/v3/auth/role/add": unary(Auth.RoleAdd.descriptor, Auth.RoleAdd.Input.self, Auth.RoleAdd.Output.self),
            "/v3/auth/role/get": unary(Auth.RoleGet.descriptor, Auth.RoleGet.Input.self, Auth.RoleGet.Output.self),
            "/v3/auth/role/list": unary(Auth.RoleList.descriptor, Auth.RoleList.Input.self, Auth.RoleList.Output.self),
            "/v3/auth/role/delete": unary(Auth.RoleDelete.descriptor, Auth.RoleDelete.Input.self, Auth.RoleDelete.Output.self),
            "/v3/auth/role/grant": unary(
                Auth.RoleGrantPermission.descriptor, Auth.RoleGrantPermission.Input.self, Auth.RoleGrantPermission.Output.self),
            "/v3/auth/role/revoke": unary(
                Auth.RoleRevokePermission.descriptor, Auth.RoleRevokePermission.Input.self,
                Auth.RoleRevokePermission.Output.self),
            "/v3/lock/lock": unary(Lock.Lock.descriptor, Lock.Lock.Input.self, Lock.Lock.Output.self),
            "/v3/lock/unlock": unary(Lock.Unlock.descriptor, Lock.Unlock.Input.self, Lock.Unlock.Output.self),
            "/v3/election/campaign": unary(Election.Campaign.descriptor, Election.Campaign.Input.self, Election.Campaign.Output.self),
            "/v3/election/proclaim": unary(Election.Proclaim.descriptor, Election.Proclaim.Input.self, Election.Proclaim.Output.self),
            "/v3/election/leader": unary(Election.Leader.descriptor, Election.Leader.Input.self, Election.Leader.Output.self),
            "/v3/election/observe": ServerStreamingRoute<Election.Observe.Input, Election.Observe.Output>(
                method: Election.Observe.descriptor, maxBodyBytes: maxBodyBytes),
            "/v3/election/resign": unary(Election.Resign.descriptor, Election.Resign.Input.self, Election.Resign.Output.self),
        ]
    }
}
