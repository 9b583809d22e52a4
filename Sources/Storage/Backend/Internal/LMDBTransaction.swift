internal import CLMDB

/// The operations on an open LMDB transaction, shared by the public
/// `ReadTransaction` and `WriteTransaction` (which only decide what is
/// allowed). Does not own the transaction: `Backend` begins and ends it.
struct LMDBTransaction {
    let transaction: OpaquePointer
    let catalog: BucketCatalog

    // MARK: Reads

    /// The value stored under `key`, pointing into the map: valid until the
    /// transaction ends or, in a write transaction, until the next change.
    func lookup(_ key: [UInt8], in bucket: Bucket) throws(BackendError) -> UnsafeRawBufferPointer? {
        let handle = try catalog.handle(bucket)
        guard catalog.isStorable(key) else { return nil }
        var value = MDB_val()
        let code = LMDB.withValue(key) { keyValue in
            mdb_get(transaction, handle, &keyValue, &value)
        }
        switch code {
        case MDB_SUCCESS: return LMDB.buffer(value)
        case MDB_NOTFOUND: return nil
        default: throw catalog.failure("mdb_get \(bucket)", code)
        }
    }

    /// Visits records with `start` ≤ key < `end` in key order (descending
    /// when `reverse`) until `body` returns false.
    func scan(
        in bucket: Bucket, from start: [UInt8], to end: [UInt8]?, reverse: Bool,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) throws(BackendError) {
        var cursor = try LMDBCursor(transaction: transaction, bucket: bucket, catalog: catalog)
        if reverse {
            var found = try cursor.seek(before: end)
            while found, LMDB.compare(cursor.key, start) >= 0, body(cursor.key, cursor.value) {
                found = try cursor.move(MDB_PREV)
            }
        } else {
            var found = try cursor.seek(atOrAfter: start)
            while found, end.map({ LMDB.compare(cursor.key, $0) < 0 }) ?? true, body(cursor.key, cursor.value) {
                found = try cursor.move(MDB_NEXT)
            }
        }
    }

    /// `scan` with a body that may throw: its error stops the scan and is
    /// rethrown as is.
    func forEach(
        in bucket: Bucket, from start: [UInt8], to end: [UInt8]?, reverse: Bool,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var bodyError: (any Error)?
        try scan(in: bucket, from: start, to: end, reverse: reverse) { key, value in
            do {
                return try body(key, value)
            } catch {
                bodyError = error
                return false
            }
        }
        if let bodyError { throw bodyError }
    }

    func entries(in bucket: Bucket, from start: [UInt8], to end: [UInt8]?, limit: Int) throws(BackendError) -> [BackendEntry] {
        var result: [BackendEntry] = []
        guard limit > 0 else { return result }
        try scan(in: bucket, from: start, to: end, reverse: false) { key, value in
            result.append(BackendEntry(key: Array(key), value: Array(value)))
            return result.count < limit
        }
        return result
    }

    func last(in bucket: Bucket, before end: [UInt8]?) throws(BackendError) -> BackendEntry? {
        var result: BackendEntry?
        try scan(in: bucket, from: [], to: end, reverse: true) { key, value in
            result = BackendEntry(key: Array(key), value: Array(value))
            return false
        }
        return result
    }

    func count(in bucket: Bucket) throws(BackendError) -> Int {
        var stat = MDB_stat()
        let code = mdb_stat(transaction, try catalog.handle(bucket), &stat)
        guard code == MDB_SUCCESS else { throw catalog.failure("mdb_stat \(bucket)", code) }
        return stat.ms_entries
    }

    /// Pages the bucket's B-tree occupies (branch, leaf and overflow).
    func pages(in bucket: Bucket) throws(BackendError) -> Int {
        var stat = MDB_stat()
        let code = mdb_stat(transaction, try catalog.handle(bucket), &stat)
        guard code == MDB_SUCCESS else { throw catalog.failure("mdb_stat \(bucket)", code) }
        return stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages
    }

    // MARK: Writes (only through WriteTransaction)

    func put(_ key: [UInt8], _ value: [UInt8], in bucket: Bucket) throws(BackendError) {
        let handle = try catalog.handle(bucket)
        try catalog.validateKey(key, in: bucket)
        // LMDB's record limit on 64-bit builds (MAXDATASIZE).
        guard UInt64(value.count) < UInt64(UInt32.max) else {
            throw .valueTooLarge(bucket: bucket.name, length: value.count)
        }
        let code = LMDB.withValue(key) { keyValue in
            LMDB.withValue(value) { dataValue in
                mdb_put(transaction, handle, &keyValue, &dataValue, 0)
            }
        }
        guard code == MDB_SUCCESS else { throw catalog.failure("mdb_put \(bucket)", code) }
    }

    func delete(_ key: [UInt8], in bucket: Bucket) throws(BackendError) -> Bool {
        let handle = try catalog.handle(bucket)
        guard catalog.isStorable(key) else { return false }
        let code = LMDB.withValue(key) { keyValue in
            mdb_del(transaction, handle, &keyValue, nil)
        }
        switch code {
        case MDB_SUCCESS: return true
        case MDB_NOTFOUND: return false
        default: throw catalog.failure("mdb_del \(bucket)", code)
        }
    }

    func deleteRange(in bucket: Bucket, from start: [UInt8], to end: [UInt8]?, limit: Int) throws(BackendError) -> Int {
        var cursor = try LMDBCursor(transaction: transaction, bucket: bucket, catalog: catalog)
        var deleted = 0
        var found = try cursor.seek(atOrAfter: start)
        while found, deleted < limit, end.map({ LMDB.compare(cursor.key, $0) < 0 }) ?? true {
            try cursor.deleteCurrent()
            deleted += 1
            found = try cursor.move(MDB_NEXT)
        }
        return deleted
    }
}
