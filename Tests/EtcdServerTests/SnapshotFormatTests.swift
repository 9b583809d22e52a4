import Foundation
import MVCC
import Raft
import Storage
import Testing

@testable import EtcdServer

/// Snapshots in etcd's format, below the processes: our records encode to
/// the bytes etcd 3.4 writes (taken from a snapshot of etcd itself),
/// malformed records are refused, etcd's bcrypt hashes are checked, and a
/// backend exported to a bbolt file and imported again holds the same
/// store, leases, auth and alarms under the new membership.
@Suite struct SnapshotFormatTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16) ?? 0)
            i = j
        }
        return out
    }

    /// Records copied from `etcdctl snapshot save` of etcd 3.4.23.
    @Test func recordsEncodeAsEtcdWritesThem() throws {
        let lease: Int64 = 0x0568_a24c_f6ea_bf0a
        let kv = KeyValue(key: Self.b("c"), createRevision: 6, modRevision: 6, version: 1, value: Self.b("4"), lease: lease)
        #expect(kv.protobufEncoded() == Self.hex("0a01631006180620012a0134308afeaab7cfc9a8b405"))
        #expect(try KeyValue(protobuf: kv.protobufEncoded()) == kv)
        let tombstone = KeyValue(key: Self.b("b"), createRevision: 0, modRevision: 0, version: 0, value: [], lease: 0)
        #expect(tombstone.protobufEncoded() == Self.hex("0a0162"))
        #expect(EtcdLease(id: lease, ttl: 100).encoded() == Self.hex("088afeaab7cfc9a8b4051064"))

        let alice = Self.hex(
            "0a05616c696365123c243261243130244971396f6533514f6145645a5a596f54612e51726b755a30777362596255466a7069513532736b3672432e703272737561307635471a036170702200"
        )
        let user = try EtcdUser(decoding: alice)
        #expect(user.name == Self.b("alice") && user.roles == ["app"] && !user.noPassword)
        #expect(user.encoded() == alice)
        let bob = Self.hex("0a03626f6222020801")
        #expect(try EtcdUser(decoding: bob) == EtcdUser(name: Self.b("bob"), password: [], roles: [], noPassword: true))
        #expect(try EtcdUser(decoding: bob).encoded() == bob)
        let app = Self.hex("0a036170701210080212052f6170702f1a052f61707030120612042f636667")
        let role = try EtcdRole(decoding: app)
        #expect(
            role.permissions == [
                .init(type: 2, key: Self.b("/app/"), rangeEnd: Self.b("/app0")), .init(type: 0, key: Self.b("/cfg"), rangeEnd: []),
            ])
        #expect(role.encoded() == app)

        let member = Member(
            id: 17_010_963_214_147_749_224, name: "e1", peerURLs: ["http://127.0.0.1:41380"],
            clientURLs: ["http://127.0.0.1:41379"], isLearner: false)
        #expect(EtcdMemberJSON.key(member) == Self.b("ec1314ea52838568"))
        #expect(
            EtcdMemberJSON.encode(member)
                == Self.b(
                    #"{"id":17010963214147749224,"peerURLs":["http://127.0.0.1:41380"],"name":"e1","clientURLs":["http://127.0.0.1:41379"]}"#
                ))
        #expect(EtcdMemberJSON.string("a<b>&\"\n") == #""a\u003cb\u003e\u0026\"\n""#)
        #expect(try EtcdAlarm(decoding: EtcdAlarm(memberID: 7, alarm: 1).encoded()) == EtcdAlarm(memberID: 7, alarm: 1))
    }

    @Test func malformedRecordsAreRefusedNotTrusted() throws {
        #expect(throws: ProtobufError.self) { try KeyValue(protobuf: [0x0a, 0x05, 0x61]) }  // length past the end
        #expect(throws: ProtobufError.self) { try KeyValue(protobuf: [0x10]) }  // truncated varint
        #expect(throws: ProtobufError.self) { try KeyValue(protobuf: [0x0b]) }  // wire type 3 (groups)
        #expect(throws: ProtobufError.self) { try KeyValue(protobuf: [0x12, 0x01, 0x61]) }  // field 2 as bytes
        #expect(throws: ProtobufError.self) { try EtcdLease(decoding: [UInt8](repeating: 0xff, count: 12) + [1]) }
        // Random bytes: an error or a record, never a crash.
        var random = SeededRandom(seed: 3)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? KeyValue(protobuf: bytes)
            _ = try? EtcdUser(decoding: bytes)
            _ = try? EtcdRole(decoding: bytes)
        }
        // A key bucket record must be what etcd writes.
        #expect(throws: SnapshotImport.Malformed.self) {
            try SnapshotImport.storedVersion(key: Self.b("short"), value: [])
        }
        let key = MVCCBackend.revisionKey(main: 5, sub: 0)
        #expect(throws: SnapshotImport.Malformed.self) {
            try SnapshotImport.storedVersion(key: key, value: KeyValue(key: [], createRevision: 1, modRevision: 5, version: 1, value: [], lease: 0).protobufEncoded())
        }
        #expect(throws: SnapshotImport.Malformed.self) {
            try SnapshotImport.storedVersion(key: key, value: KeyValue(key: Self.b("k"), createRevision: 9, modRevision: 5, version: 1, value: [], lease: 0).protobufEncoded())
        }
    }

    /// Go's bcrypt (etcd's `$2a$10$…`) is checked through libcrypt; our own
    /// hashes travel in a text form and come back equal.
    @Test func passwordHashesTravelAsText() throws {
        let etcdHash = Self.b("$2a$10$Iq9oe3QOaEdZZYoTa.QrkuZ0wsbYbUFjpiQ52sk6rC.p2rsua0v5G")
        let bcrypt = try #require(PasswordHash(text: etcdHash))
        #expect(bcrypt.algorithm == .bcrypt && bcrypt.rounds == 10 && bcrypt.text == etcdHash)
        #if os(Linux)
        #expect(bcrypt.matches("alicepw"))
        #endif
        #expect(!bcrypt.matches("alicepw "))
        var w = BinaryWriter()
        bcrypt.encode(to: &w)
        var r = BinaryReader(w.bytes)
        #expect(try PasswordHash(from: &r) == bcrypt)

        let ours = try PasswordHash.make(password: "pw", rounds: 1000)
        let text = ours.text
        #expect(String(decoding: text, as: UTF8.self).hasPrefix("$pbkdf2-sha256$1000$"))
        #expect(PasswordHash(text: text) == ours)
        #expect(PasswordHash(text: text)?.matches("pw") == true)
        for bad in ["", "$pbkdf2-sha256$10$00$00", "$pbkdf2-sha256$1000$0g$00", "$2a$10$short", "plain"] {
            #expect(PasswordHash(text: Self.b(bad)) == nil, "\(bad)")
        }
    }

    /// A backend exported to etcd's format and imported into a new backend
    /// loads the same store (history after the compaction, tombstones,
    /// leases), auth and alarms, with the new members and the index their
    /// bootstrap log ends at.
    @Test func exportThenImportRestoresTheSameState() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-format-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var store = KVStore()
        let source = try MVCCBackend(path: dir.appendingPathComponent("source/db").path)
        _ = try store.grantLease(id: 42, ttl: 300)
        source.leaseGranted(id: 42, ttl: 300)
        for i in 0..<2000 {
            _ = try store.put(PutRequest(key: Self.b("k\(i % 300)"), value: Self.b("value \(i)"), lease: i % 50 == 0 ? 42 : 0))
        }
        _ = store.deleteRange(DeleteRangeRequest(key: Self.b("k7")))
        _ = try store.put(PutRequest(key: Self.b("big"), value: [UInt8](repeating: 7, count: 300_000)))
        let hash = try PasswordHash.make(password: "pw", rounds: 1000)
        let auth = AuthStore(
            isEnabled: true, revision: 9,
            users: [
                AuthUser(name: "root", password: hash, roles: ["root"], noPassword: false),
                AuthUser(name: "cert-only", password: nil, roles: ["app"], noPassword: true),
            ],
            roles: [
                AuthRole(name: "root"),
                AuthRole(name: "app", permissions: [KeyPermission(access: .readWrite, key: Self.b("a"), rangeEnd: Self.b("b"))]),
            ])
        let alarms = [AlarmMember(memberID: 1, alarm: .noSpace)]
        let oldMembers = [Member(id: 1, name: "old", peerURLs: ["http://127.0.0.1:1"], clientURLs: [], isLearner: false)]
        source.clusterStateChanged()
        source.authStateChanged()
        try source.commit(store: store, members: oldMembers, alarms: alarms, auth: auth, appliedIndex: 3000)
        try store.compact(store.currentRevision - 500)
        try source.commit(store: store, members: oldMembers, alarms: alarms, auth: auth, appliedIndex: 3001)
        for _ in 0..<100 where try source.pruneCompacted(store: store) {}

        let fileSystem = POSIXFileSystem()
        let path = dir.appendingPathComponent("snapshot.db").path
        let file = try fileSystem.open(path, mode: .truncate)
        let size = try SnapshotExport.write(source.storage, to: file)
        file.close()
        source.close()

        let status = try SnapshotStatus(path: path)
        #expect(status.revision == store.currentRevision && status.totalSize == size)

        let members = [
            Member(id: 10, name: "n1", peerURLs: ["http://127.0.0.1:10"], clientURLs: [], isLearner: false),
            Member(id: 11, name: "n2", peerURLs: ["http://127.0.0.1:11"], clientURLs: [], isLearner: false),
        ]
        let target = try MVCCBackend(path: dir.appendingPathComponent("target/db").path)
        let reader = try BoltReader(file: try fileSystem.open(path, mode: .readOnly))
        let summary = try SnapshotImport.run(from: reader, into: target, members: members, consistentIndex: 2)
        #expect(summary.revision == store.currentRevision && summary.usersWithoutPassword.isEmpty)
        let loaded = try #require(try target.load())
        #expect(loaded.consistentIndex == 2)
        #expect(loaded.members == members)
        #expect(loaded.alarms == alarms)
        #expect(loaded.auth == auth)
        #expect(loaded.store.snapshot() == store.snapshot())
        #expect(loaded.store.compactedRevision == store.compactedRevision)
        target.close()
    }
}
