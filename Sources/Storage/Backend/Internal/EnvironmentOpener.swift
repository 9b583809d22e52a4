internal import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens the LMDB environment for a `Backend`: flags, limits, stale reader
/// slots, buckets, and the sanity checks that turn a bad file into an error
/// instead of a crash. On any failure the environment is closed again.
struct EnvironmentOpener {
    let path: String
    let buckets: [Bucket]
    let options: BackendOptions

    struct Opened {
        let environment: OpaquePointer
        let catalog: BucketCatalog
        let mapSize: Int
    }

    func open() throws(BackendError) -> Opened {
        var created: OpaquePointer?
        let createCode = mdb_env_create(&created)
        guard createCode == MDB_SUCCESS, let environment = created else {
            throw .lmdb(operation: "mdb_env_create", path: path, code: createCode, message: LMDB.message(createCode))
        }
        do {
            return try configure(environment)
        } catch {
            mdb_env_close(environment)
            throw error
        }
    }

    /// Flags, and why:
    /// - `MDB_NOSUBDIR`: `path` is the data file, as etcd's `member/snap/db`.
    /// - `MDB_NOTLS`: reader slots belong to transactions, not threads, so
    ///   Swift tasks hopping threads and nested reads are fine.
    /// - `MDB_NOMETASYNC` or `MDB_NOSYNC`: see `BackendOptions.CommitSync`.
    /// Not used: `MDB_WRITEMAP` (a stray pointer write could damage the
    /// file, and the file would be sized to the whole map), `MDB_NORDAHEAD`
    /// (helps random reads only once the database outgrows RAM; readahead
    /// helps ordered scans).
    private var flags: UInt32 {
        let sync = options.commitSync == .dataPages ? MDB_NOMETASYNC : MDB_NOSYNC
        return UInt32(MDB_NOSUBDIR | MDB_NOTLS | sync)
    }

    private func configure(_ environment: OpaquePointer) throws(BackendError) -> Opened {
        try check(mdb_env_set_mapsize(environment, options.mapSize), "mdb_env_set_mapsize")
        try check(mdb_env_set_maxdbs(environment, MDB_dbi(buckets.count)), "mdb_env_set_maxdbs")
        try check(mdb_env_set_maxreaders(environment, UInt32(options.maxReaders)), "mdb_env_set_maxreaders")
        let openCode = mdb_env_open(environment, path, flags, mdb_mode_t(options.fileMode))
        guard openCode == MDB_SUCCESS else { throw openFailure(openCode) }

        // Reader slots of a process that died (kill -9) would pin old
        // snapshots and stop page reuse; we hold the file lock, so every
        // slot from another process is stale.
        var dead: Int32 = 0
        try check(mdb_reader_check(environment, &dead), "mdb_reader_check")

        var info = MDB_envinfo()
        var stat = MDB_stat()
        try check(mdb_env_info(environment, &info), "mdb_env_info")
        try check(mdb_env_stat(environment, &stat), "mdb_env_stat")
        try checkLength(lastPage: info.me_last_pgno, pageSize: Int(stat.ms_psize))

        let maxKeySize = Int(mdb_env_get_maxkeysize(environment))
        let handles = try openBuckets(environment)
        let catalog = BucketCatalog(path: path, maxKeySize: maxKeySize, handles: handles)
        return Opened(environment: environment, catalog: catalog, mapSize: info.me_mapsize)
    }

    /// Creates missing buckets and looks up every handle, in one write
    /// transaction (handles opened there stay valid for the environment).
    private func openBuckets(_ environment: OpaquePointer) throws(BackendError) -> [Bucket: MDB_dbi] {
        var begun: OpaquePointer?
        try check(mdb_txn_begin(environment, nil, 0, &begun), "mdb_txn_begin")
        guard let transaction = begun else { throw failure("mdb_txn_begin", EINVAL) }
        var handles: [Bucket: MDB_dbi] = [:]
        for bucket in buckets {
            var handle: MDB_dbi = 0
            let code = mdb_dbi_open(transaction, bucket.name, UInt32(MDB_CREATE), &handle)
            guard code == MDB_SUCCESS else {
                mdb_txn_abort(transaction)
                throw failure("mdb_dbi_open \(bucket)", code)
            }
            handles[bucket] = handle
        }
        try check(mdb_txn_commit(transaction), "mdb_txn_commit")
        return handles
    }

    /// LMDB reads pages through the memory map, so a file cut short (a
    /// bad copy, a power loss with `CommitSync.never`) would fault
    /// (SIGBUS) on the first read past its end. Refuse it instead.
    private func checkLength(lastPage: Int, pageSize: Int) throws(BackendError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure("stat", errno) }
        let needed = (lastPage + 1) * pageSize
        guard Int(info.st_size) >= needed else {
            throw .notADatabase(
                path: path, code: MDB_INVALID,
                message: "file is \(info.st_size) bytes but its pages reach \(needed) bytes (truncated)")
        }
    }

    private func openFailure(_ code: Int32) -> BackendError {
        switch code {
        case MDB_INVALID, MDB_VERSION_MISMATCH, MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INCOMPATIBLE:
            return .notADatabase(path: path, code: code, message: LMDB.message(code))
        case EACCES, EPERM, EROFS, ENOENT, ENOTDIR, EISDIR:
            return .inaccessible(path: path, code: code, message: LMDB.message(code))
        case EAGAIN:
            return .inUse(path: path)
        default:
            return failure("mdb_env_open", code)
        }
    }

    private func check(_ code: Int32, _ operation: String) throws(BackendError) {
        guard code == MDB_SUCCESS else { throw failure(operation, code) }
    }

    private func failure(_ operation: String, _ code: Int32) -> BackendError {
        switch code {
        case MDB_INVALID, MDB_VERSION_MISMATCH, MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INCOMPATIBLE:
            return .notADatabase(path: path, code: code, message: LMDB.message(code))
        default:
            return .lmdb(operation: operation, path: path, code: code, message: LMDB.message(code))
        }
    }
}
