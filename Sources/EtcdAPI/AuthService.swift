import EtcdServer
import Foundation
import GRPCCore

/// `etcdserverpb.Auth`: users, roles, enabling authentication, and issuing
/// tokens. Translates each call (for grpc-swift and the lean server alike,
/// see `KVService`); the rules live in `EtcdServer+Auth`.
struct AuthService: Etcdserverpb_Auth.SimpleServiceProtocol {
    let server: EtcdServer

    func authEnable(
        _ request: Etcdserverpb_AuthEnableRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthEnableResponse {
        var response = Etcdserverpb_AuthEnableResponse()
        response.header = .init(try await call { () async throws(EtcdError) in try await server.authEnable() })
        return response
    }

    func authDisable(
        _ request: Etcdserverpb_AuthDisableRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthDisableResponse {
        var response = Etcdserverpb_AuthDisableResponse()
        response.header = .init(try await call { () async throws(EtcdError) in try await server.authDisable() })
        return response
    }

    func authenticate(
        _ request: Etcdserverpb_AuthenticateRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthenticateResponse {
        let (token, header) = try await call { () async throws(EtcdError) in
            try await server.authenticate(name: request.name, password: request.password)
        }
        var response = Etcdserverpb_AuthenticateResponse()
        response.header = .init(header)
        response.token = token
        return response
    }

    func userAdd(
        _ request: Etcdserverpb_AuthUserAddRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthUserAddResponse {
        var response = Etcdserverpb_AuthUserAddResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.userAdd(
                    name: request.name, password: request.password, noPassword: request.options.noPassword)
            })
        return response
    }

    func userGet(
        _ request: Etcdserverpb_AuthUserGetRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthUserGetResponse {
        let (roles, header) = try await call { () async throws(EtcdError) in try await server.userGet(name: request.name) }
        var response = Etcdserverpb_AuthUserGetResponse()
        response.header = .init(header)
        response.roles = roles
        return response
    }

    func userList(
        _ request: Etcdserverpb_AuthUserListRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthUserListResponse {
        let (users, header) = try await call { () async throws(EtcdError) in try await server.userList() }
        var response = Etcdserverpb_AuthUserListResponse()
        response.header = .init(header)
        response.users = users
        return response
    }

    func userDelete(
        _ request: Etcdserverpb_AuthUserDeleteRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthUserDeleteResponse {
        var response = Etcdserverpb_AuthUserDeleteResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in try await server.userDelete(name: request.name) })
        return response
    }

    func userChangePassword(
        _ request: Etcdserverpb_AuthUserChangePasswordRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthUserChangePasswordResponse {
        var response = Etcdserverpb_AuthUserChangePasswordResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.userChangePassword(name: request.name, password: request.password)
            })
        return response
    }

    func userGrantRole(
        _ request: Etcdserverpb_AuthUserGrantRoleRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthUserGrantRoleResponse {
        var response = Etcdserverpb_AuthUserGrantRoleResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.userGrantRole(user: request.user, role: request.role)
            })
        return response
    }

    func userRevokeRole(
        _ request: Etcdserverpb_AuthUserRevokeRoleRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthUserRevokeRoleResponse {
        var response = Etcdserverpb_AuthUserRevokeRoleResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.userRevokeRole(user: request.name, role: request.role)
            })
        return response
    }

    func roleAdd(
        _ request: Etcdserverpb_AuthRoleAddRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthRoleAddResponse {
        var response = Etcdserverpb_AuthRoleAddResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in try await server.roleAdd(name: request.name) })
        return response
    }

    func roleGet(
        _ request: Etcdserverpb_AuthRoleGetRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthRoleGetResponse {
        let (permissions, header) = try await call { () async throws(EtcdError) in
            try await server.roleGet(name: request.role)
        }
        var response = Etcdserverpb_AuthRoleGetResponse()
        response.header = .init(header)
        response.perm = permissions.map(Authpb_Permission.init)
        return response
    }

    func roleList(
        _ request: Etcdserverpb_AuthRoleListRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthRoleListResponse {
        let (roles, header) = try await call { () async throws(EtcdError) in try await server.roleList() }
        var response = Etcdserverpb_AuthRoleListResponse()
        response.header = .init(header)
        response.roles = roles
        return response
    }

    func roleDelete(
        _ request: Etcdserverpb_AuthRoleDeleteRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthRoleDeleteResponse {
        var response = Etcdserverpb_AuthRoleDeleteResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in try await server.roleDelete(name: request.role) })
        return response
    }

    func roleGrantPermission(
        _ request: Etcdserverpb_AuthRoleGrantPermissionRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthRoleGrantPermissionResponse {
        let permission = KeyPermission(request.perm)
        var response = Etcdserverpb_AuthRoleGrantPermissionResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.roleGrantPermission(role: request.name, permission: permission)
            })
        return response
    }

    func roleRevokePermission(
        _ request: Etcdserverpb_AuthRoleRevokePermissionRequest
    ) async throws(RPCError) -> Etcdserverpb_AuthRoleRevokePermissionResponse {
        var response = Etcdserverpb_AuthRoleRevokePermissionResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.roleRevokePermission(
                    role: request.role, key: [UInt8](request.key), rangeEnd: [UInt8](request.rangeEnd))
            })
        return response
    }

    // MARK: grpc-swift

    func authEnable(
        request: Etcdserverpb_AuthEnableRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthEnableResponse {
        try await authEnable(request)
    }

    func authDisable(
        request: Etcdserverpb_AuthDisableRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthDisableResponse {
        try await authDisable(request)
    }

    func authenticate(
        request: Etcdserverpb_AuthenticateRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthenticateResponse {
        try await authenticate(request)
    }

    func userAdd(
        request: Etcdserverpb_AuthUserAddRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserAddResponse {
        try await userAdd(request)
    }

    func userGet(
        request: Etcdserverpb_AuthUserGetRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserGetResponse {
        try await userGet(request)
    }

    func userList(
        request: Etcdserverpb_AuthUserListRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserListResponse {
        try await userList(request)
    }

    func userDelete(
        request: Etcdserverpb_AuthUserDeleteRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserDeleteResponse {
        try await userDelete(request)
    }

    func userChangePassword(
        request: Etcdserverpb_AuthUserChangePasswordRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserChangePasswordResponse {
        try await userChangePassword(request)
    }

    func userGrantRole(
        request: Etcdserverpb_AuthUserGrantRoleRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserGrantRoleResponse {
        try await userGrantRole(request)
    }

    func userRevokeRole(
        request: Etcdserverpb_AuthUserRevokeRoleRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserRevokeRoleResponse {
        try await userRevokeRole(request)
    }

    func roleAdd(
        request: Etcdserverpb_AuthRoleAddRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleAddResponse {
        try await roleAdd(request)
    }

    func roleGet(
        request: Etcdserverpb_AuthRoleGetRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleGetResponse {
        try await roleGet(request)
    }

    func roleList(
        request: Etcdserverpb_AuthRoleListRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleListResponse {
        try await roleList(request)
    }

    func roleDelete(
        request: Etcdserverpb_AuthRoleDeleteRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleDeleteResponse {
        try await roleDelete(request)
    }

    func roleGrantPermission(
        request: Etcdserverpb_AuthRoleGrantPermissionRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleGrantPermissionResponse {
        try await roleGrantPermission(request)
    }

    func roleRevokePermission(
        request: Etcdserverpb_AuthRoleRevokePermissionRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleRevokePermissionResponse {
        try await roleRevokePermission(request)
    }

    private func call<T: Sendable>(_ body: () async throws(EtcdError) -> T) async throws(RPCError) -> T {
        try await withEtcdErrors(body)
    }
}

extension AuthService: LeanRPCService {
    func registerLeanMethods(in table: inout LeanRPCMethodTable) {
        typealias M = Etcdserverpb_Auth.Method
        table.unary(M.AuthEnable.descriptor, authEnable(_:))
        table.unary(M.AuthDisable.descriptor, authDisable(_:))
        table.unary(M.Authenticate.descriptor, authenticate(_:))
        table.unary(M.UserAdd.descriptor, userAdd(_:))
        table.unary(M.UserGet.descriptor, userGet(_:))
        table.unary(M.UserList.descriptor, userList(_:))
        table.unary(M.UserDelete.descriptor, userDelete(_:))
        table.unary(M.UserChangePassword.descriptor, userChangePassword(_:))
        table.unary(M.UserGrantRole.descriptor, userGrantRole(_:))
        table.unary(M.UserRevokeRole.descriptor, userRevokeRole(_:))
        table.unary(M.RoleAdd.descriptor, roleAdd(_:))
        table.unary(M.RoleGet.descriptor, roleGet(_:))
        table.unary(M.RoleList.descriptor, roleList(_:))
        table.unary(M.RoleDelete.descriptor, roleDelete(_:))
        table.unary(M.RoleGrantPermission.descriptor, roleGrantPermission(_:))
        table.unary(M.RoleRevokePermission.descriptor, roleRevokePermission(_:))
    }
}

extension KeyPermission {
    /// An unknown permission type reads as `read`, the least access.
    init(_ p: Authpb_Permission) {
        let access: Access =
            switch p.permType {
            case .write: .write
            case .readwrite: .readWrite
            default: .read
            }
        self.init(access: access, key: [UInt8](p.key), rangeEnd: [UInt8](p.rangeEnd))
    }
}

extension Authpb_Permission {
    init(_ p: KeyPermission) {
        self.init()
        permType =
            switch p.access {
            case .read: .read
            case .write: .write
            case .readWrite: .readwrite
            }
        key = Data(p.key)
        rangeEnd = Data(p.rangeEnd)
    }
}
