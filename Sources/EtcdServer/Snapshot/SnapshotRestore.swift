import Crypto
import Foundation
import Raft
import Storage

/// `swift-etcd snapshot restore`: turns a snapshot file — saved with
/// `etcdctl snapshot save` from swift-etcd or from etcd 3.4 — into a new
/// data directory for one member of a new cluster, as etcd's `etcdctl
/// snapshot restore` does for etcd:
///
/// 1. the flags must describe a member of `--initial-cluster` whose peer
///    URLs are `--initial-advertise-peer-urls`, and `--data-dir` must not
///    exist (etcd's checks and texts);
/// 2. the SHA-256 trailer must match the file (unless `skipHashCheck`,
///    needed for a bare `member/snap/db` copied out of etcd's data dir);
/// 3. the bbolt file is read (`BoltReader`, which refuses a damaged one)
///    into an LMDB backend in our record format (`SnapshotImport`): the
///    keys with their revisions, compaction, leases, alarms and auth; the
///    old membership and consistent index are dropped;
/// 4. the WAL is created with the bootstrap log of the new membership,
///    as the member writes it on a first start, and the backend records
///    that log's last index as applied (etcd sets its consistent index
///    to the number of members the same way).
///
/// Everything is written into `<data-dir>.restoring` and renamed into
/// place at the end, so an interrupted or failed restore never leaves a
/// data directory a member could start from half-filled.
public enum SnapshotRestore {
    public struct Summary: Sendable {
        public var dataDir: String
        public var memberID: UInt64
        public var clusterID: UInt64
        public var revision: Int64
        /// Versions copied from the `key` bucket (history and tombstones included).
        public var versions: Int
        public var leases: Int
        public var users: Int
        public var roles: Int
        /// Users whose password hash is in no form we know (neither bcrypt
        /// nor ours); they need `etcdctl user passwd` before they can
        /// authenticate.
        public var usersWithoutPassword: [String]
        public var hashChecked: Bool
    }

    /// Restores `snapshotPath` into `config.dataDir` for member `config.name`
    /// of the cluster `config.initialCluster` / `config.initialClusterToken`.
    public static func restore(snapshotPath: String, config: ServerConfig, skipHashCheck: Bool) throws -> Summary {
        try verifyBootstrap(config)
        let dataDir = config.dataDir.hasSuffix("/") && config.dataDir.count > 1
            ? String(config.dataDir.dropLast()) : config.dataDir
        let fileSystem = POSIXFileSystem()
        if fileSystem.exists(dataDir) { throw SnapshotToolError("data-dir \"\(dataDir)\" exists") }
        guard fileSystem.exists(snapshotPath) else {
            throw SnapshotToolError("open \(snapshotPath): no such file or directory")
        }
        let file = try fileSystem.open(snapshotPath, mode: .readOnly)
        defer { file.close() }
        let size = try file.size()
        let hasHash = size % 512 == SHA256.byteCount
        if !hasHash && !skipHashCheck { throw SnapshotToolError("snapshot missing hash but --skip-hash-check=false") }
        let length = hasHash ? size - SHA256.byteCount : size
        if hasHash && !skipHashCheck { try verifyHash(of: file, length: length) }
        let reader = try BoltReader(file: file, length: length)

        let members = config.initialMembers()
        guard let member = members.first(where: { $0.name == config.name }) else {
            throw SnapshotToolError("couldn't find local name \"\(config.name)\" in the initial cluster configuration")
        }
        let clusterID = ClusterIdentity.clusterID(memberIDs: members.map(\.id))
        let staging = dataDir + ".restoring"
        try removeDirectory(staging)
        do {
            let backend = try MVCCBackend(path: MVCCBackend.path(dataDir: staging))
            defer { backend.close() }
            let imported = try SnapshotImport.run(
                from: reader, into: backend, members: members, consistentIndex: UInt64(members.count))
            backend.close()
            _ = try DiskPersistence.open(
                dataDir: staging, newIdentity: DiskPersistence.Identity(memberID: member.id, clusterID: clusterID),
                voters: members.map(\.id))
            try fileSystem.rename(staging, to: dataDir)
            try fileSystem.syncDirectory(parent(of: dataDir))
            return Summary(
                dataDir: dataDir, memberID: member.id, clusterID: clusterID, revision: imported.revision,
                versions: imported.versions, leases: imported.leases, users: imported.users, roles: imported.roles,
                usersWithoutPassword: imported.usersWithoutPassword, hashChecked: hasHash && !skipHashCheck)
        } catch {
            try? removeDirectory(staging)
            throw error
        }
    }

    /// etcd's `VerifyBootstrap` for a restore: this member is in the
    /// initial cluster with exactly its advertised peer URLs.
    static func verifyBootstrap(_ config: ServerConfig) throws {
        guard config.initialCluster.isEmpty || config.initialCluster.contains(where: { $0.name == config.name }) else {
            throw SnapshotToolError("couldn't find local name \"\(config.name)\" in the initial cluster configuration")
        }
        guard !config.initialCluster.isEmpty else { return }
        let clusterURLs = Set(config.initialCluster.filter { $0.name == config.name }.map(\.peerURL))
        let advertised = Set(config.initialAdvertisePeerURLs.map(\.description))
        let missing = clusterURLs.subtracting(advertised).sorted()
        if !missing.isEmpty {
            throw SnapshotToolError(
                "--initial-cluster has \(missing.map { config.name + "=" + $0 }.joined(separator: ",")) but missing from --initial-advertise-peer-urls=\(advertised.sorted().joined(separator: ","))"
            )
        }
        let extra = advertised.subtracting(clusterURLs).sorted()
        if !extra.isEmpty {
            throw SnapshotToolError(
                "--initial-advertise-peer-urls has \(extra.joined(separator: ",")) but missing from --initial-cluster=\(advertised.sorted().map { config.name + "=" + $0 }.joined(separator: ","))"
            )
        }
    }

    /// Compares the trailer with the SHA-256 of the first `length` bytes,
    /// read a megabyte at a time.
    private static func verifyHash(of file: any DurableFile, length: Int) throws {
        var hasher = SHA256()
        var offset = 0
        while offset < length {
            let chunk = try file.read(at: offset, count: min(1 << 20, length - offset))
            guard !chunk.isEmpty else { break }
            hasher.update(data: chunk)
            offset += chunk.count
        }
        let expected = try file.read(at: length, count: SHA256.byteCount)
        let actual = Array(hasher.finalize())
        guard expected == actual else {
            // Go prints byte slices as `[1 2 3]`.
            func go(_ bytes: [UInt8]) -> String { "[" + bytes.map(String.init).joined(separator: " ") + "]" }
            throw SnapshotToolError("expected sha256 \(go(expected)), got \(go(actual))")
        }
    }

    private static func removeDirectory(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Why `snapshot restore` or `snapshot status` refused, in etcd's words
/// where etcd has them.
public struct SnapshotToolError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
