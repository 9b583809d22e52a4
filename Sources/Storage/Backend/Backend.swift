internal import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The on-disk ordered key-value store under the MVCC layer: what bbolt is to
/// etcd. Named buckets of byte keys → byte values in byte order, changed in
/// atomic transactions, read from consistent snapshots. Built on LMDB (why:
/// Docs/architecture.md, "Why LMDB for the MVCC backend").
///
/// **The file.** `path` names the database file itself, as etcd's
/// `<data-dir>/member/snap/db`; LMDB keeps its reader table beside it in
/// `<path>-lock` (rebuilt on open, never needs backing up). Missing parent
/// directories are created. The file is locked while open: a second
/// `Backend` on it, in this process or another, gets `BackendError.inUse`.
///
/// **Keys.** 1 to `maxKeySize` bytes (511 in Debian's LMDB build). etcd
/// keys can be 1.5 MiB, so the MVCC layer must not use user keys as backend
/// keys: like etcd, it keys the `key` bucket by 17-byte revisions and keeps
/// the user key inside the value.
///
/// **Threads.** `Sendable`: any thread may call any method. Reads run
/// concurrently with each other and with the writer; writes run one at a
/// time (a second writer waits). Transactions are synchronous closures, so
/// each runs start to end on one thread, as LMDB requires of write
/// transactions; `MDB_NOTLS` lets read transactions nest and run inside a
/// write closure. `write`, `sync` and `close` called from inside a `read` or
/// `write` closure fail with `.nestedTransaction` instead of deadlocking.
/// A closure blocks its thread, so keep transactions short (etcd commits its
/// batch every 100 ms) and long scans paged. Growing the map waits for the
/// reads in progress and holds new ones back (see `ReadWriteLock`).
///
/// **Crash contract.** The WAL is the durability source; this file holds
/// what has been applied. `sync()` makes every committed transaction
/// durable (`mdb_env_sync`, an fdatasync); the server calls it before it
/// releases WAL segments covering those entries.
/// - Process crash (kill -9, a trap): every committed transaction
///   survives — the kernel's page cache holds what `write` returned.
/// - Power loss or kernel crash, with `BackendOptions.CommitSync.dataPages`
///   (the default): the file is consistent and holds at least every
///   transaction committed before the last `sync()` — in fact all but
///   possibly the last commit. The store's applied index (kept in `meta`
///   in the same transactions) says where WAL replay resumes.
/// - Power loss with `.never`: transactions after the last `sync()` may be
///   lost *and the file may be damaged* (see `CommitSync.never`). Do not
///   use it for a member's data.
///
/// **Map size.** LMDB maps the file into memory at a fixed size. When a
/// write finds it full, the backend doubles it (up to
/// `BackendOptions.maximumMapSize`) and runs the write closure again: the
/// closure must do nothing but work on its transaction.
public final class Backend: @unchecked Sendable {
    // @unchecked: the mutable state below (`state`, `currentMapSize`) is
    // changed only while holding both `writers` and `mapLock` exclusively,
    // and read while holding either; the LMDB environment handle is
    // thread-safe for everything done here under those rules.

    /// The database file.
    public let path: String
    public let options: BackendOptions

    private let environment: OpaquePointer
    private let catalog: BucketCatalog
    private let ownership: FileOwnership
    private let writers = PThreadMutex()
    private let mapLock = ReadWriteLock()
    private var state = State.open
    private var currentMapSize: Int

    private enum State {
        case open
        /// Refusing work; the environment is still open (closed on `close`).
        case failed(String)
        case closed
    }

    /// Opens the database at `path`, creating it (and its directory) if
    /// missing, and creates any of `buckets` it lacks.
    public init(path: String, buckets: [Bucket], options: BackendOptions = BackendOptions()) throws(BackendError) {
        if let problem = options.problem { throw .invalidOptions(reason: problem) }
        if let problem = Backend.problem(with: buckets) { throw .invalidOptions(reason: problem) }
        try Backend.createParentDirectory(of: path)
        let ownership = try FileOwnership(path: path, mode: options.fileMode)
        let opened = try EnvironmentOpener(path: path, buckets: buckets, options: options).open()
        if ownership.created {
            // The new file's name must be durable before anything in it is.
            // (Before `self` is complete, so a throw here never runs deinit.)
            do {
                try Backend.syncAncestors(of: path)
            } catch {
                mdb_env_close(opened.environment)
                throw error
            }
        }
        self.path = path
        self.options = options
        self.environment = opened.environment
        self.catalog = opened.catalog
        self.currentMapSize = opened.mapSize
        self.ownership = ownership
    }

    deinit {
        if case .closed = state { return }
        mdb_env_close(environment)
    }

    /// The longest key LMDB can store (`mdb_env_get_maxkeysize`).
    public var maxKeySize: Int { catalog.maxKeySize }

    /// The buckets this backend was opened with, by name.
    public var buckets: [Bucket] { catalog.buckets }

    /// The current size of the memory map; it grows on demand.
    public var mapSize: Int { mapLock.withShared { currentMapSize } }

    // MARK: Transactions

    /// Runs `body` in a read-only transaction: a consistent snapshot of
    /// everything committed when it began. Returns what `body` returns
    /// (which must not be a buffer from the transaction).
    public func read<Result>(_ body: (borrowing ReadTransaction) throws -> Result) throws -> Result {
        try mapLock.withShared { () throws -> Result in
            try checkUsable()
            let transaction = try begin(flags: UInt32(MDB_RDONLY))
            defer { mdb_txn_abort(transaction) }  // read-only: abort just releases the snapshot
            return try body(ReadTransaction(LMDBTransaction(transaction: transaction, catalog: catalog)))
        }
    }

    /// Runs `body` in the write transaction and commits it when `body`
    /// returns; aborts it, changing nothing, when `body` throws (the error is
    /// rethrown) or a change failed (see `WriteTransaction`). If the map
    /// fills up, the map grows and `body` runs again on a fresh transaction.
    /// Not durable against power loss until `sync()` (see the crash
    /// contract above).
    public func write<Result>(_ body: (inout WriteTransaction) throws -> Result) throws -> Result {
        try lockWriters()
        defer { writers.unlock() }
        // Each pass either returns, throws, or doubles the map, which is
        // capped by maximumMapSize, so the loop ends.
        while true {
            try checkUsable()
            let handle = try begin(flags: 0)
            var transaction = WriteTransaction(LMDBTransaction(transaction: handle, catalog: catalog))
            let result: Result
            do {
                result = try body(&transaction)
            } catch {
                mdb_txn_abort(handle)
                if transaction.failure?.code == MDB_MAP_FULL {
                    try growMap()
                    continue
                }
                throw error
            }
            if let failure = transaction.failure {
                mdb_txn_abort(handle)
                guard failure.code == MDB_MAP_FULL else { throw failure }
                try growMap()
                continue
            }
            let code = mdb_txn_commit(handle)  // frees the transaction whatever the outcome
            if code == MDB_MAP_FULL {
                try growMap()
                continue
            }
            guard code == MDB_SUCCESS else {
                let error = catalog.failure("mdb_txn_commit", code)
                // With CommitSync.dataPages the commit fsyncs: an I/O error
                // there is a failed fsync, as in `sync()`.
                if code == EIO { mapLock.withExclusive { state = .failed(error.description) } }
                throw error
            }
            return result
        }
    }

    // MARK: Durability and size

    /// Makes every committed transaction durable (fdatasync of the file,
    /// `mdb_env_sync` forced). If it fails, the backend becomes unusable:
    /// after a failed fsync the kernel may have dropped the dirty pages
    /// (PostgreSQL's "fsyncgate"), so no later sync could be trusted; the
    /// member must restart and replay the WAL from its applied index.
    public func sync() throws(BackendError) {
        // Under the writer lock, as etcd's commit-and-fsync: a sync never
        // races a close, and a failure can mark the backend at once.
        try lockWriters()
        defer { writers.unlock() }
        try checkUsable()
        let code = mdb_env_sync(environment, 1)
        guard code == MDB_SUCCESS else {
            let error = catalog.failure("mdb_env_sync", code)
            mapLock.withExclusive { state = .failed(error.description) }
            throw error
        }
    }

    /// What etcd reports as `dbSize`: bytes up to the highest page in use,
    /// `(last page number + 1) × page size`. LMDB reuses freed pages, so
    /// after compaction this stays at its high-water mark while
    /// `sizeInUse` falls.
    public var sizeInBytes: Int {
        get throws(BackendError) {
            try mapLock.withShared { () throws(BackendError) -> Int in
                try checkUsable()
                var info = MDB_envinfo()
                var stat = MDB_stat()
                let infoCode = mdb_env_info(environment, &info)
                guard infoCode == MDB_SUCCESS else { throw catalog.failure("mdb_env_info", infoCode) }
                let statCode = mdb_env_stat(environment, &stat)
                guard statCode == MDB_SUCCESS else { throw catalog.failure("mdb_env_stat", statCode) }
                return (info.me_last_pgno + 1) * Int(stat.ms_psize)
            }
        }
    }

    /// What etcd reports as `dbSizeInUse`: bytes in pages that hold data
    /// now — the two meta pages plus the B-tree pages of every bucket and of
    /// the bucket directory. Free pages waiting for reuse (and LMDB's own
    /// free-page list) are not counted. O(buckets), no scan.
    public var sizeInUse: Int {
        get throws(BackendError) {
            try mapLock.withShared { () throws(BackendError) -> Int in
                try checkUsable()
                var directory = MDB_stat()
                let code = mdb_env_stat(environment, &directory)
                guard code == MDB_SUCCESS else { throw catalog.failure("mdb_env_stat", code) }
                let transaction = try begin(flags: UInt32(MDB_RDONLY))
                defer { mdb_txn_abort(transaction) }
                let base = LMDBTransaction(transaction: transaction, catalog: catalog)
                var pages = 2 + directory.ms_branch_pages + directory.ms_leaf_pages + directory.ms_overflow_pages
                for bucket in catalog.buckets { pages += try base.pages(in: bucket) }
                return pages * Int(directory.ms_psize)
            }
        }
    }

    /// Closes the database and unlocks the file. Does not sync (call
    /// `sync()` first for durability against power loss). Waits for running
    /// transactions; later calls throw `.closed`. Idempotent; also done
    /// when the last reference goes away. Throws only `.nestedTransaction`.
    public func close() throws(BackendError) {
        try lockWriters()
        defer { writers.unlock() }
        mapLock.withExclusive {
            if case .closed = state { return }
            mdb_env_close(environment)
            ownership.release()
            state = .closed
        }
    }

    // MARK: Internals

    /// Takes the writer lock for `write`, `sync` or `close`, refusing when
    /// this thread is inside a transaction closure: it would wait for
    /// itself (a held read blocks the remap or close; a held writer lock
    /// blocks everything).
    private func lockWriters() throws(BackendError) {
        guard !mapLock.isSharedByCurrentThread, writers.lock() else { throw .nestedTransaction(path: path) }
    }

    private func checkUsable() throws(BackendError) {
        switch state {
        case .open: return
        case .failed(let cause): throw .unusable(path: path, cause: cause)
        case .closed: throw .closed(path: path)
        }
    }

    private func begin(flags: UInt32) throws(BackendError) -> OpaquePointer {
        var handle: OpaquePointer?
        let code = mdb_txn_begin(environment, nil, flags, &handle)
        guard code == MDB_SUCCESS, let handle else {
            // MDB_MAP_RESIZED means another process grew the file; only one
            // process may use it, and the file lock says none should.
            throw catalog.failure(flags == 0 ? "mdb_txn_begin" : "mdb_txn_begin(MDB_RDONLY)", code)
        }
        return handle
    }

    /// Doubles the map (up to the maximum). Called by the writer, holding
    /// `writers`, with no transaction of its own open and no read on this
    /// thread (checked by `lockWriters`); waits for reads to end, because
    /// remapping moves every page they could be looking at.
    private func growMap() throws(BackendError) {
        guard currentMapSize < options.maximumMapSize else { throw .full(path: path, mapSize: currentMapSize) }
        let target = currentMapSize > options.maximumMapSize / 2 ? options.maximumMapSize : currentMapSize * 2
        try mapLock.withExclusive { () throws(BackendError) in
            let code = mdb_env_set_mapsize(environment, target)
            guard code == MDB_SUCCESS else {
                // LMDB unmapped the file and could not map it again: nothing
                // may touch the environment now.
                let error = catalog.failure("mdb_env_set_mapsize(\(target))", code)
                state = .failed(error.description)
                throw error
            }
            currentMapSize = target
        }
    }

    private static func problem(with buckets: [Bucket]) -> String? {
        if buckets.isEmpty { return "at least one bucket is needed" }
        if Set(buckets).count != buckets.count { return "bucket names must be distinct" }
        if let bad = buckets.first(where: { $0.name.isEmpty || $0.name.utf8.contains(0) }) {
            return "bucket name \"\(bad.name)\" must be non-empty and contain no NUL"
        }
        return nil
    }

    private static func createParentDirectory(of path: String) throws(BackendError) {
        guard let parent = Path.ancestors(of: path).first else { return }
        do {
            try POSIXFileSystem().createDirectory(parent)
        } catch {
            throw Backend.inaccessible(path, error)
        }
    }

    private static func syncAncestors(of path: String) throws(BackendError) {
        let fileSystem = POSIXFileSystem()
        do {
            for directory in Path.ancestors(of: path) { try fileSystem.syncDirectory(directory) }
        } catch {
            throw Backend.inaccessible(path, error)
        }
    }

    private static func inaccessible(_ path: String, _ error: StorageError) -> BackendError {
        switch error {
        case let .io(operation, failedPath, code):
            return .inaccessible(path: path, code: code, message: "\(operation) \(failedPath): \(LMDB.message(code))")
        default:
            return .inaccessible(path: path, code: ENOTDIR, message: error.description)
        }
    }
}
