/// How a `Backend` is opened. The defaults suit a member: a large virtual
/// map that costs no disk, and commits that keep the file consistent across
/// a power loss.
public struct BackendOptions: Sendable, Equatable {
    /// What a commit does to make its pages durable. See `Backend` for the
    /// crash contract each choice gives.
    public enum CommitSync: Sendable, Equatable {
        /// Each commit fdatasyncs the pages it wrote, but not the meta page
        /// that makes it current (LMDB's `MDB_NOMETASYNC`); `sync()` or the
        /// next commit flushes that. A power loss can undo at most the last
        /// commit and never leaves a damaged file. One fdatasync per commit
        /// is cheap when commits are batched as etcd does (every 100 ms or
        /// 10,000 operations): in scripts/bench-backend.sh, 1,000 commits
        /// of 1,000 records took 1.15 s against 0.78 s with `.never`.
        case dataPages
        /// Commits never fsync (`MDB_NOSYNC`); only `sync()` does. Safe
        /// against a process crash, but after a power loss the file can be
        /// *damaged*, not merely older: LMDB writes the new meta page and
        /// reuses freed pages in place, and ext4 or XFS may write them back
        /// in any order, so the surviving meta page can point at pages that
        /// never reached the disk (LMDB 0.9 keeps no page checksums to
        /// notice). The WAL cannot repair that. Use it for tests, bulk
        /// loads that end in `sync()`, or file systems that write in order.
        case never
    }

    /// Address space reserved for the memory map, in bytes. It is not disk
    /// space: the file grows only as pages are written. 64 GiB by default,
    /// far above etcd's 8 GiB suggested quota, so it is rarely grown.
    public var mapSize: Int
    /// When a write finds the map full (`MDB_MAP_FULL`) the backend doubles
    /// the map, up to this size, and runs the transaction again; past it,
    /// writes fail with `BackendError.full`. 1 TiB by default.
    public var maximumMapSize: Int
    /// Concurrent read transactions allowed (LMDB's reader table). Reads in
    /// this API are synchronous closures, so at most one per thread runs at
    /// once; 126 is LMDB's default.
    public var maxReaders: Int
    /// See `CommitSync`.
    public var commitSync: CommitSync
    /// Permissions of a new database file. etcd creates its `db` with 0600:
    /// it holds every key, including auth data.
    public var fileMode: UInt32

    public init(
        mapSize: Int = 64 << 30,
        maximumMapSize: Int = 1 << 40,
        maxReaders: Int = 126,
        commitSync: CommitSync = .dataPages,
        fileMode: UInt32 = 0o600
    ) {
        self.mapSize = mapSize
        self.maximumMapSize = maximumMapSize
        self.maxReaders = maxReaders
        self.commitSync = commitSync
        self.fileMode = fileMode
    }

    /// Why these options cannot work, or nil when they can.
    var problem: String? {
        if mapSize <= 0 { return "mapSize must be positive" }
        if maximumMapSize < mapSize { return "maximumMapSize must be at least mapSize" }
        if maxReaders <= 0 || maxReaders > Int(Int32.max) { return "maxReaders must be between 1 and \(Int32.max)" }
        if fileMode & ~0o777 != 0 { return "fileMode must be permission bits only" }
        return nil
    }
}
