import MVCC
import Raft
import Storage

/// Writes a member's state as etcd 3.4's backend would hold it — a bbolt
/// file with etcd's buckets and records — which is what etcd's
/// `Maintenance.Snapshot` streams and `etcdctl snapshot restore` reads.
///
/// Everything comes from one LMDB read transaction, so the file is one
/// consistent state, taken while the member goes on committing. Our
/// records are translated bucket by bucket:
/// - `key`: the same revision keys; each value becomes `mvccpb.KeyValue`
///   (a tombstone only the key, as etcd writes it).
/// - `meta`: `consistent_index` as is; our compaction revisions (8-byte
///   integers, -1 for none) as etcd's 17-byte revisions, only once there
///   was a compaction; our `current_revision` is left out (etcd derives it
///   from the `key` bucket).
/// - `lease`: `leasepb.Lease` (ID, TTL) under the same 8-byte ID.
/// - `members` as etcd's JSON, `members_removed` empty (we keep no list
///   of removed members), `cluster` with etcd 3.4's cluster version,
///   `alarm` keyed by `AlarmMember`.
/// - `auth` (`authEnabled` only when on: etcd writes it only once auth was
///   enabled), `authUsers`, `authRoles` as `authpb` records. Passwords go
///   in our hash's text form (`PasswordHash.text`), which etcd cannot check.
enum SnapshotExport {
    private typealias Layout = EtcdBoltLayout

    /// Reads `backend` and writes the database to `file` (empty, opened for
    /// writing), synced. Returns the database's size in bytes.
    static func write(_ backend: Backend, to file: any DurableFile) throws -> Int {
        let writer = try BoltWriter(file: file)
        try backend.read { tx in
            try writeKeys(tx, to: writer)
            try writeMeta(tx, to: writer)
            try writeLeases(tx, to: writer)
            try writeCluster(tx, to: writer)
            try writeAuth(tx, to: writer)
        }
        return try writer.finish()
    }

    private static func writeKeys(_ tx: borrowing ReadTransaction, to writer: BoltWriter) throws {
        try writer.beginBucket(Layout.Bucket.key)
        try tx.forEach(in: MVCCBackend.Buckets.key) { key, value in
            let version = try MVCCBackend.decodeVersion(key: Array(key), value: Array(value))
            let record =
                version.isTombstone
                ? KeyValue(key: version.key, createRevision: 0, modRevision: 0, version: 0, value: [], lease: 0)
                : KeyValue(
                    key: version.key, createRevision: version.createRevision, modRevision: version.revision.main,
                    version: version.version, value: version.value ?? [], lease: version.lease)
            try record.protobufEncoded().withUnsafeBytes { encoded in try writer.put(key: key, value: encoded) }
            return true
        }
        try writer.endBucket()
    }

    private static func writeMeta(_ tx: borrowing ReadTransaction, to writer: BoltWriter) throws {
        var records: [([UInt8], [UInt8])] = []
        if let index = try tx.get(MVCCBackend.MetaKey.consistentIndex, in: MVCCBackend.Buckets.meta) {
            records.append((Layout.MetaKey.consistentIndex, index))
        }
        let scheduled = try tx.get(MVCCBackend.MetaKey.compactRevision, in: MVCCBackend.Buckets.meta)
            .flatMap(MVCCBackend.decodeInt64)
        if let scheduled, scheduled > 0 {
            records.append((Layout.MetaKey.scheduledCompactRev, Layout.revisionBytes(main: scheduled)))
        }
        let finished = try tx.get(MVCCBackend.MetaKey.finishedCompactRevision, in: MVCCBackend.Buckets.meta)
            .flatMap(MVCCBackend.decodeInt64)
        if let finished, finished > 0 {
            records.append((Layout.MetaKey.finishedCompactRev, Layout.revisionBytes(main: finished)))
        }
        try put(records, in: Layout.Bucket.meta, to: writer)
    }

    private static func writeLeases(_ tx: borrowing ReadTransaction, to writer: BoltWriter) throws {
        try writer.beginBucket(Layout.Bucket.lease)
        for entry in try tx.entries(in: MVCCBackend.Buckets.lease) {
            guard let id = MVCCBackend.decodeInt64(entry.key), let ttl = MVCCBackend.decodeInt64(entry.value) else {
                throw BackendCorruption(what: "lease record")
            }
            try writer.put(entry.key, EtcdLease(id: id, ttl: ttl).encoded())
        }
        try writer.endBucket()
    }

    private static func writeCluster(_ tx: borrowing ReadTransaction, to writer: BoltWriter) throws {
        var members: [([UInt8], [UInt8])] = []
        for entry in try tx.entries(in: MVCCBackend.Buckets.members) {
            var r = BinaryReader(entry.value)
            let member = try Member(from: &r)
            members.append((EtcdMemberJSON.key(member), EtcdMemberJSON.encode(member)))
        }
        try put(members, in: Layout.Bucket.members, to: writer)
        try put([], in: Layout.Bucket.membersRemoved, to: writer)
        try put(
            [(Layout.clusterVersionKey, Array(EtcdServer.clusterVersion.utf8))], in: Layout.Bucket.cluster, to: writer)
        var alarms: [([UInt8], [UInt8])] = []
        for entry in try tx.entries(in: MVCCBackend.Buckets.alarm) {
            var r = BinaryReader(entry.value)
            let memberID = try r.readUInt64()
            let type = try r.readUInt64()
            alarms.append((EtcdAlarm(memberID: memberID, alarm: Int(truncatingIfNeeded: type)).encoded(), []))
        }
        try put(alarms, in: Layout.Bucket.alarm, to: writer)
    }

    private static func writeAuth(_ tx: borrowing ReadTransaction, to writer: BoltWriter) throws {
        let auth = try MVCCBackend.readAuth(tx)
        var settings: [([UInt8], [UInt8])] = [(Layout.AuthKey.revision, MVCCBackend.encode(auth.revision))]
        if auth.isEnabled { settings.append((Layout.AuthKey.enabled, [1])) }
        try put(settings, in: Layout.Bucket.auth, to: writer)
        let users = auth.users.values.map { user in
            (
                Array(user.name.utf8),
                EtcdUser(
                    name: Array(user.name.utf8), password: user.password?.text ?? [], roles: user.roles,
                    noPassword: user.noPassword
                ).encoded()
            )
        }
        try put(users, in: Layout.Bucket.authUsers, to: writer)
        let roles = auth.roles.values.map { role in
            (
                Array(role.name.utf8),
                EtcdRole(
                    name: Array(role.name.utf8),
                    permissions: role.permissions.map {
                        EtcdRole.Permission(type: $0.access.rawValue, key: $0.key, rangeEnd: $0.rangeEnd)
                    }
                ).encoded()
            )
        }
        try put(roles, in: Layout.Bucket.authRoles, to: writer)
    }

    /// A small bucket from records in any order.
    private static func put(_ records: [([UInt8], [UInt8])], in bucket: [UInt8], to writer: BoltWriter) throws {
        try writer.beginBucket(bucket)
        for (key, value) in records.sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) {
            try writer.put(key, value)
        }
        try writer.endBucket()
    }
}
