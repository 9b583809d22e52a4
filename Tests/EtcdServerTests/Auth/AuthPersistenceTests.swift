import Foundation
import MVCC
import Raft
import Storage
import Testing
@testable import EtcdServer

/// The auth store survives every path state takes: log entries (commands
/// with their caller), Raft snapshots, and the backend's auth buckets.
@Suite struct AuthPersistenceTests {
    static func sampleStore() throws -> AuthStore {
        var store = AuthStore()
        let hash = PasswordHashRecord(hash: try PasswordHash.make(password: "rootpw", rounds: 1000))
        let commands: [AuthCommand] = [
            .userAdd(name: "root", password: hash, noPassword: false),
            .userGrantRole(user: "root", role: "root"),
            .userAdd(name: "cert-only", password: nil, noPassword: true),
            .roleAdd(name: "reader"),
            .roleGrantPermission(role: "reader", permission: KeyPermission(access: .read, key: Array("a".utf8), rangeEnd: [0])),
            .roleGrantPermission(role: "reader", permission: KeyPermission(access: .readWrite, key: Array("k".utf8), rangeEnd: [])),
            .userGrantRole(user: "cert-only", role: "reader"),
            .enable,
        ]
        for command in commands { _ = try store.apply(command).get() }
        return store
    }

    @Test func commandsRoundTripWithTheirCaller() throws {
        let hash = PasswordHashRecord(hash: try PasswordHash.make(password: "pw", rounds: 1000))
        let commands: [AuthCommand] = [
            .enable, .disable, .authenticate(name: "u", tokenPrefix: "abcdefghijklmnop"),
            .userAdd(name: "u", password: hash, noPassword: false), .userAdd(name: "n", password: nil, noPassword: true),
            .userDelete(name: "u"), .userChangePassword(name: "u", password: hash),
            .userGrantRole(user: "u", role: "r"), .userRevokeRole(user: "u", role: "r"),
            .roleAdd(name: "r"), .roleDelete(name: "r"),
            .roleGrantPermission(role: "r", permission: KeyPermission(access: .write, key: [1, 2], rangeEnd: [3])),
            .roleRevokePermission(role: "r", key: [1, 2], rangeEnd: [3]),
        ]
        for command in commands {
            for caller in [nil, AuthHeader(username: "alice", revision: 9)] {
                let envelope = CommandEnvelope(requestID: 5, command: .auth(command), auth: caller)
                #expect(try CommandEnvelope(decoding: envelope.encoded()) == envelope)
            }
        }
        // A caller travels with any command.
        let put = CommandEnvelope(
            requestID: 1, command: .put(PutRequest(key: [1], value: [2])), auth: AuthHeader(username: "u", revision: 3))
        #expect(try CommandEnvelope(decoding: put.encoded()) == put)
    }

    @Test func entriesWithoutACallerReadAsBefore() throws {
        // The bytes an envelope without a caller had before auth existed.
        let plain = CommandEnvelope(requestID: 1, command: .leaseRevoke(id: 4))
        var w = BinaryWriter()
        w.write(UInt8(1))
        w.write(UInt64(1))
        w.write(UInt8(6))
        w.write(UInt64(4))
        #expect(plain.encoded() == w.bytes)
        #expect(try CommandEnvelope(decoding: w.bytes).auth == nil)
    }

    @Test func snapshotsCarryTheAuthStore() throws {
        let auth = try Self.sampleStore()
        for payload in [ServerSnapshot.Payload.store(KVStore().snapshot()), .inBackend, .backendImage([1, 2, 3])] {
            let snapshot = ServerSnapshot(members: [], alarms: [], payload: payload, auth: auth)
            let decoded = try ServerSnapshot(decoding: snapshot.encoded())
            #expect(decoded.auth == auth)
            #expect(decoded.payload == payload)
        }
        // A version 1 snapshot from before auth existed has no trailer: auth off.
        var v1 = BinaryWriter()
        for byte in ServerSnapshot.magic { v1.write(byte) }
        v1.write(UInt8(1))
        v1.write(UInt64(0))
        v1.write(UInt64(0))
        v1.write(KVStore().snapshot())
        let old = try ServerSnapshot(decoding: v1.bytes)
        #expect(old.auth == AuthStore())
        #expect(old.payload == .store(KVStore().snapshot()))
    }

    @Test func theBackendKeepsAuthInEtcdsBuckets() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auth-backend-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("db").path
        let auth = try Self.sampleStore()

        let backend = try MVCCBackend(path: path)
        backend.authStateChanged()
        try backend.commit(store: KVStore(), members: [], alarms: [], auth: auth, appliedIndex: 12)
        backend.close()

        // etcd's layout: the switch and revision in `auth`, one record per
        // user and per role, keyed by name.
        let raw = try Backend(path: path, buckets: MVCCBackend.Buckets.all)
        let (enabled, revision, users, roles) = try raw.read { tx in
            (
                try tx.get(Array("authEnabled".utf8), in: "auth"), try tx.get(Array("authRevision".utf8), in: "auth"),
                try tx.entries(in: "authUsers").map { String(decoding: $0.key, as: UTF8.self) },
                try tx.entries(in: "authRoles").map { String(decoding: $0.key, as: UTF8.self) }
            )
        }
        try raw.close()
        #expect(enabled == [1])
        #expect(revision.flatMap(MVCCBackend.decodeUInt64) == auth.revision)
        #expect(users == ["cert-only", "root"])
        #expect(roles == ["reader"])

        let reopened = try MVCCBackend(path: path)
        let loaded = try #require(try reopened.load())
        #expect(loaded.auth == auth)
        // A snapshot install replaces it like everything else.
        try reopened.replaceAll(store: KVStore(), members: [], alarms: [], auth: AuthStore(), appliedIndex: 20)
        reopened.close()
        let again = try MVCCBackend(path: path)
        #expect(try #require(try again.load()).auth == AuthStore())
        again.close()
    }

    @Test func veryLongNamesStillFitTheBackend() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auth-backend-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var auth = AuthStore()
        let long = String(repeating: "n", count: 4000)
        _ = try auth.apply(.userAdd(name: long, password: nil, noPassword: true)).get()
        _ = try auth.apply(.roleAdd(name: long)).get()
        let backend = try MVCCBackend(path: dir.appendingPathComponent("db").path)
        backend.authStateChanged()
        try backend.commit(store: KVStore(), members: [], alarms: [], auth: auth, appliedIndex: 3)
        #expect(try #require(try backend.load()).auth == auth)
        backend.close()
    }
}
