/// The names etcd 3.4 gives its bolt buckets and meta keys (mvcc/kvstore.go,
/// lease/lessor.go, etcdserver/api/membership/store.go, auth/store.go,
/// etcdserver/api/v3alarm/alarms.go), shared by snapshot export and
/// restore.
enum EtcdBoltLayout {
    enum Bucket {
        static let key = Array("key".utf8)
        static let meta = Array("meta".utf8)
        static let lease = Array("lease".utf8)
        static let alarm = Array("alarm".utf8)
        static let cluster = Array("cluster".utf8)
        static let members = Array("members".utf8)
        static let membersRemoved = Array("members_removed".utf8)
        static let auth = Array("auth".utf8)
        static let authUsers = Array("authUsers".utf8)
        static let authRoles = Array("authRoles".utf8)
    }

    enum MetaKey {
        /// The applied Raft index, 8 bytes big-endian.
        static let consistentIndex = Array("consistent_index".utf8)
        /// Compactions, as 17-byte revisions (main, `_`, sub 0).
        static let scheduledCompactRev = Array("scheduledCompactRev".utf8)
        static let finishedCompactRev = Array("finishedCompactRev".utf8)
    }

    enum AuthKey {
        /// One byte, 1 or 0; etcd writes it on the first enable.
        static let enabled = Array("authEnabled".utf8)
        /// 8 bytes big-endian.
        static let revision = Array("authRevision".utf8)
    }

    static let clusterVersionKey = Array("clusterVersion".utf8)

    /// etcd's revision bytes for a compaction: main revision, `_`, sub 0.
    static func revisionBytes(main: Int64) -> [UInt8] { MVCCBackend.revisionKey(main: main, sub: 0) }

    /// The main revision of a 17-byte revision (or an 18-byte tombstone key).
    static func mainRevision(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count == 17 || bytes.count == 18, bytes[8] == UInt8(ascii: "_") else { return nil }
        if bytes.count == 18 && bytes[17] != UInt8(ascii: "t") { return nil }
        return MVCCBackend.decodeInt64(Array(bytes[0..<8]))
    }
}
