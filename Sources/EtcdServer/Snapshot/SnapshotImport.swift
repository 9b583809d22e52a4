import MVCC
import Raft
import Storage

/// Reads an etcd 3.4 snapshot (a bbolt file, etcd's or ours) and writes its
/// state into a new backend in our record format: every version of the
/// `key` bucket (a batch per LMDB transaction, never the whole file in
/// memory), the compaction revisions, leases, alarms and auth. The
/// snapshot's members and consistent index are discarded, as etcd's
/// restore discards them: the caller gives the new membership and the
/// index its bootstrap log ends at.
enum SnapshotImport {
    private typealias Layout = EtcdBoltLayout

    /// What was imported, for the restore's log line.
    struct Summary {
        var revision: Int64
        var versions: Int
        var leases: Int
        var users: Int
        var roles: Int
        /// Users whose password hash is in no form we know: they keep
        /// their roles but must be given a password again.
        var usersWithoutPassword: [String]
    }

    /// A record that is not what etcd writes.
    struct Malformed: Error, CustomStringConvertible {
        var what: String
        var description: String { "the snapshot holds a malformed \(what)" }
    }

    static let versionsPerTransaction = 10_000

    static func run(
        from reader: BoltReader, into backend: MVCCBackend, members: [Member], consistentIndex: UInt64
    ) throws -> Summary {
        let (lastRevision, versions) = try importVersions(from: reader, into: backend)
        let meta = try records(of: Layout.Bucket.meta, in: reader)
        let scheduled = try meta[Layout.MetaKey.scheduledCompactRev].map { try compaction($0) } ?? -1
        let finished = try meta[Layout.MetaKey.finishedCompactRev].map { try compaction($0) } ?? -1
        let leases = try records(of: Layout.Bucket.lease, in: reader).values.map { value in
            let lease = try EtcdLease(decoding: value)
            return KVStore.StoredLease(id: lease.id, ttl: lease.ttl)
        }
        let alarms = try records(of: Layout.Bucket.alarm, in: reader).keys.compactMap { key -> AlarmMember? in
            let alarm = try EtcdAlarm(decoding: key)
            return AlarmType(rawValue: alarm.alarm).map { AlarmMember(memberID: alarm.memberID, alarm: $0) }
        }
        let (auth, withoutPassword) = try readAuth(from: reader)
        let current = max(lastRevision, scheduled, finished, 1)
        try backend.importState(
            MVCCBackend.ImportedState(
                consistentIndex: consistentIndex, currentRevision: current, compactRevision: scheduled,
                finishedCompactRevision: finished, leases: leases.sorted { $0.id < $1.id }, members: members,
                alarms: alarms, auth: auth))
        return Summary(
            revision: current, versions: versions, leases: leases.count, users: auth.users.count,
            roles: auth.roles.count, usersWithoutPassword: withoutPassword)
    }

    /// Copies the `key` bucket; returns the newest main revision and the
    /// number of versions.
    private static func importVersions(from reader: BoltReader, into backend: MVCCBackend) throws -> (Int64, Int) {
        guard try reader.hasBucket(Layout.Bucket.key) else { return (0, 0) }
        var batch: [KVStore.StoredVersion] = []
        batch.reserveCapacity(versionsPerTransaction)
        var last: Int64 = 0
        var count = 0
        try reader.forEach(inBucket: Layout.Bucket.key) { key, value in
            let version = try storedVersion(key: key, value: value)
            last = version.revision.main
            count += 1
            batch.append(version)
            if batch.count == versionsPerTransaction {
                try backend.importVersions(batch)
                batch.removeAll(keepingCapacity: true)
            }
            return true
        }
        if !batch.isEmpty { try backend.importVersions(batch) }
        return (last, count)
    }

    /// One `key` bucket record as our stored version. The revision comes
    /// from the key (as etcd's restore reads it); a `t` suffix marks a
    /// tombstone, whatever its value says.
    static func storedVersion(key: [UInt8], value: [UInt8]) throws -> KVStore.StoredVersion {
        guard let main = Layout.mainRevision(key), main >= 1,
            let sub = MVCCBackend.decodeInt64(Array(key[9..<17])), sub >= 0
        else { throw Malformed(what: "revision key \(hex(key))") }
        let record: KeyValue
        do {
            record = try KeyValue(protobuf: value)
        } catch {
            throw Malformed(what: "mvccpb.KeyValue at revision \(main) (\(error))")
        }
        guard !record.key.isEmpty else { throw Malformed(what: "mvccpb.KeyValue without a key at revision \(main)") }
        let revision = Revision(main: main, sub: sub)
        if key.count == 18 {
            return KVStore.StoredVersion(
                key: record.key, revision: revision, createRevision: 0, version: 0, lease: 0, value: [])
        }
        guard record.version > 0, record.createRevision >= 1, record.createRevision <= main else {
            throw Malformed(what: "mvccpb.KeyValue at revision \(main) (version \(record.version), created at \(record.createRevision))")
        }
        return KVStore.StoredVersion(
            key: record.key, revision: revision, createRevision: record.createRevision, version: record.version,
            lease: record.lease, value: record.value)
    }

    private static func compaction(_ bytes: [UInt8]) throws -> Int64 {
        guard bytes.count == 17, let main = Layout.mainRevision(bytes), main >= 0 else {
            throw Malformed(what: "compaction revision \(hex(bytes))")
        }
        return main
    }

    /// The users, roles and switch of etcd's auth buckets.
    private static func readAuth(from reader: BoltReader) throws -> (AuthStore, [String]) {
        let settings = try records(of: Layout.Bucket.auth, in: reader)
        let enabled = settings[Layout.AuthKey.enabled] == [1]
        var revision: UInt64 = 1
        if let bytes = settings[Layout.AuthKey.revision] {
            guard let value = MVCCBackend.decodeUInt64(bytes) else { throw Malformed(what: "auth revision") }
            revision = max(value, 1)
        }
        var users: [AuthUser] = []
        var withoutPassword: [String] = []
        for value in try records(of: Layout.Bucket.authUsers, in: reader).values {
            let user = try EtcdUser(decoding: value)
            let name = String(decoding: user.name, as: UTF8.self)
            let hash = PasswordHash(text: user.password)
            if hash == nil && !user.noPassword && !user.password.isEmpty { withoutPassword.append(name) }
            users.append(
                AuthUser(name: name, password: user.noPassword ? nil : hash, roles: user.roles, noPassword: user.noPassword))
        }
        var roles: [AuthRole] = []
        for value in try records(of: Layout.Bucket.authRoles, in: reader).values {
            let role = try EtcdRole(decoding: value)
            let permissions = try role.permissions.map { p in
                guard let access = KeyPermission.Access(rawValue: p.type) else {
                    throw Malformed(what: "permission type \(p.type)")
                }
                return KeyPermission(access: access, key: p.key, rangeEnd: p.rangeEnd)
            }
            roles.append(AuthRole(name: String(decoding: role.name, as: UTF8.self), permissions: permissions))
        }
        return (
            AuthStore(isEnabled: enabled, revision: revision, users: users, roles: roles),
            withoutPassword.sorted()
        )
    }

    /// A small bucket's records (empty when the bucket is missing, as
    /// etcd creates missing buckets when it starts).
    private static func records(of bucket: [UInt8], in reader: BoltReader) throws -> [[UInt8]: [UInt8]] {
        guard try reader.hasBucket(bucket) else { return [:] }
        var out: [[UInt8]: [UInt8]] = [:]
        try reader.forEach(inBucket: bucket) { key, value in
            out[key] = value
            return true
        }
        return out
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
