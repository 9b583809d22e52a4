import EtcdServer
import Foundation
import GRPCCore

/// `etcdserverpb.Auth`: users, roles, enabling authentication, and issuing
/// tokens. Translates each call; the rules live in `EtcdServer+Auth`.
struct AuthService: Etcdserverpb_Auth.SimpleServiceProtocol {
    let server: EtcdServer

    func authEnable(
        request: Etcdserverpb_AuthEnableRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthEnableResponse {
        var response = Etcdserverpb_AuthEnableResponse()
        response.header = .init(try await call { () async throws(EtcdError) in try await server.authEnable() })
        return response
    }

    func authDisable(
        request: Etcdserverpb_AuthDisableRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthDisableResponse {
        var response = Etcdserverpb_AuthDisableResponse()
        response.header = .init(try await call { () async throws(EtcdError) in try await server.authDisable() })
        return response
    }

    func authenticate(
        request: Etcdserverpb_AuthenticateRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthenticateResponse {
        let (token, header) = try await call { () async throws(EtcdError) in
            try await server.authenticate(name: request.name, password: request.password)
        }
        var response = Etcdserverpb_AuthenticateResponse()
        response.header = .init(header)
        response.token = token
        return response
    }

    func userAdd(
        request: Etcdserverpb_AuthUserAddRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserAddResponse {
        var response = Etcdserverpb_AuthUserAddResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.userAdd(
                    name: request.name, password: request.password, noPassword: request.options.noPassword)
            })
        return response
    }

    func userGet(
        request: Etcdserverpb_AuthUserGetRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserGetResponse {
        let (roles, header) = try await call { () async throws(EtcdError) in try await server.userGet(name: request.name) }
        var response = Etcdserverpb_AuthUserGetResponse()
        response.header = .init(header)
        response.roles = roles
        return response
    }

    func userList(
        request: Etcdserverpb_AuthUserListRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserListResponse {
        let (users, header) = try await call { () async throws(EtcdError) in try await server.userList() }
        var response = Etcdserverpb_AuthUserListResponse()
        response.header = .init(header)
        response.users = users
        return response
    }

    func userDelete(
        request: Etcdserverpb_AuthUserDeleteRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserDeleteResponse {
        var response = Etcdserverpb_AuthUserDeleteResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in try await server.userDelete(name: request.name) })
        return response
    }

    func userChangePassword(
        request: Etcdserverpb_AuthUserChangePasswordRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserChangePasswordResponse {
        var response = Etcdserverpb_AuthUserChangePasswordResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.userChangePassword(name: request.name, password: request.password)
            })
        return response
    }

    func userGrantRole(
        request: Etcdserverpb_AuthUserGrantRoleRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserGrantRoleResponse {
        var response = Etcdserverpb_AuthUserGrantRoleResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.userGrantRole(user: request.user, role: request.role)
            })
        return response
    }

    func userRevokeRole(
        request: Etcdserverpb_AuthUserRevokeRoleRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthUserRevokeRoleResponse {
        var response = Etcdserverpb_AuthUserRevokeRoleResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.userRevokeRole(user: request.name, role: request.role)
            })
        return response
    }

    func roleAdd(
        request: Etcdserverpb_AuthRoleAddRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleAddResponse {
        var response = Etcdserverpb_AuthRoleAddResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in try await server.roleAdd(name: request.name) })
        return response
    }

    func roleGet(
        request: Etcdserverpb_AuthRoleGetRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleGetResponse {
        let (permissions, header) = try await call { () async throws(EtcdError) in
            try await server.roleGet(name: request.role)
        }
        var response = Etcdserverpb_AuthRoleGetResponse()
        response.header = .init(header)
        response.perm = permissions.map(Authpb_Permission.init)
        return response
    }

    func roleList(
        request: Etcdserverpb_AuthRoleListRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleListResponse {
        let (roles, header) = try await call { () async throws(EtcdError) in try await server.roleList() }
        var response = Etcdserverpb_AuthRoleListResponse()
        response.header = .init(header)
        response.roles = roles
        return response
    }

    func roleDelete(
        request: Etcdserverpb_AuthRoleDeleteRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleDeleteResponse {
        var response = Etcdserverpb_AuthRoleDeleteResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in try await server.roleDelete(name: request.role) })
        return response
    }

    func roleGrantPermission(
        request: Etcdserverpb_AuthRoleGrantPermissionRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleGrantPermissionResponse {
        let permission = KeyPermission(request.perm)
        var response = Etcdserverpb_AuthRoleGrantPermissionResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.roleGrantPermission(role: request.name, permission: permission)
            })
        return response
    }

    func roleRevokePermission(
        request: Etcdserverpb_AuthRoleRevokePermissionRequest, context: ServerContext
    ) async throws -> Etcdserverpb_AuthRoleRevokePermissionResponse {
        var response = Etcdserverpb_AuthRoleRevokePermissionResponse()
        response.header = .init(
            try await call { () async throws(EtcdError) in
                try await server.roleRevokePermission(
                    role: request.role, key: [UInt8](request.key), rangeEnd: [UInt8](request.rangeEnd))
            })
        return response
    }

    private func call<T: Sendable>(_ body: () async throws(EtcdError) -> T) async throws(RPCError) -> T {
        try await withEtcdErrors(body)
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
