internal import CLMDB

/// The immutable facts every transaction needs: which LMDB database handle
/// each bucket name maps to, LMDB's key limit, and the path for messages.
/// Built once when the backend opens (the handles stay valid until the
/// environment closes), shared by all transactions.
final class BucketCatalog: Sendable {
    let path: String
    let maxKeySize: Int
    private let handles: [Bucket: MDB_dbi]

    init(path: String, maxKeySize: Int, handles: [Bucket: MDB_dbi]) {
        self.path = path
        self.maxKeySize = maxKeySize
        self.handles = handles
    }

    var buckets: [Bucket] { handles.keys.sorted { $0.name < $1.name } }

    func handle(_ bucket: Bucket) throws(BackendError) -> MDB_dbi {
        guard let handle = handles[bucket] else { throw .unknownBucket(name: bucket.name, path: path) }
        return handle
    }

    /// Checks a key for storing; lookups accept any key (one LMDB cannot
    /// store is simply absent).
    func validateKey(_ key: [UInt8], in bucket: Bucket) throws(BackendError) {
        if key.isEmpty { throw .emptyKey(bucket: bucket.name) }
        if key.count > maxKeySize { throw .keyTooLong(bucket: bucket.name, length: key.count, maximum: maxKeySize) }
    }

    /// Whether LMDB could hold this key at all.
    func isStorable(_ key: [UInt8]) -> Bool {
        !key.isEmpty && key.count <= maxKeySize
    }

    func failure(_ operation: String, _ code: Int32) -> BackendError {
        switch code {
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH:
            return .notADatabase(path: path, code: code, message: LMDB.message(code))
        default:
            return .lmdb(operation: operation, path: path, code: code, message: LMDB.message(code))
        }
    }
}
