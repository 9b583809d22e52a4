internal import CLMDB

/// One LMDB cursor over one bucket, closed when it goes out of scope.
/// Non-copyable so it is closed exactly once, and always before its
/// transaction commits (a write transaction frees its cursors at commit, so
/// a later close would be a use after free).
struct LMDBCursor: ~Copyable {
    private let cursor: OpaquePointer
    private let catalog: BucketCatalog
    private var currentKey = MDB_val()
    private var currentValue = MDB_val()

    init(transaction: OpaquePointer, bucket: Bucket, catalog: BucketCatalog) throws(BackendError) {
        let handle = try catalog.handle(bucket)
        var opened: OpaquePointer?
        let code = mdb_cursor_open(transaction, handle, &opened)
        guard code == MDB_SUCCESS, let opened else { throw catalog.failure("mdb_cursor_open \(bucket)", code) }
        cursor = opened
        self.catalog = catalog
    }

    deinit { mdb_cursor_close(cursor) }

    /// The record the cursor is on; valid after a move that returned true.
    var key: UnsafeRawBufferPointer { LMDB.buffer(currentKey) }
    var value: UnsafeRawBufferPointer { LMDB.buffer(currentValue) }

    /// Moves (`MDB_FIRST`, `MDB_NEXT`, …); false when there is no such record.
    mutating func move(_ operation: MDB_cursor_op) throws(BackendError) -> Bool {
        try finish(mdb_cursor_get(cursor, &currentKey, &currentValue, operation), "mdb_cursor_get")
    }

    /// Moves to the first record whose key is ≥ `start`.
    mutating func seek(atOrAfter start: [UInt8]) throws(BackendError) -> Bool {
        if start.isEmpty { return try move(MDB_FIRST) }
        // LMDB rejects a probe longer than a key can be; a prefix of the
        // bound lands at or before the answer, and the loop steps past the
        // (at most one) key that sorts before the full bound.
        var found = try seekRange(Array(start.prefix(catalog.maxKeySize)))
        while found, LMDB.compare(key, start) < 0 { found = try move(MDB_NEXT) }
        return found
    }

    /// Moves to the last record whose key is < `end`, or the last record
    /// when `end` is nil.
    mutating func seek(before end: [UInt8]?) throws(BackendError) -> Bool {
        guard let end else { return try move(MDB_LAST) }
        if end.isEmpty { return false }
        // Nothing ≥ the prefix means every key is below it, hence below end.
        guard try seekRange(Array(end.prefix(catalog.maxKeySize))) else { return try move(MDB_LAST) }
        var found = true
        while found, LMDB.compare(key, end) >= 0 { found = try move(MDB_PREV) }
        return found
    }

    /// Deletes the current record. LMDB leaves the cursor so that the next
    /// `MDB_NEXT` returns the record that followed the deleted one.
    mutating func deleteCurrent() throws(BackendError) {
        let code = mdb_cursor_del(cursor, 0)
        guard code == MDB_SUCCESS else { throw catalog.failure("mdb_cursor_del", code) }
    }

    private mutating func seekRange(_ probe: [UInt8]) throws(BackendError) -> Bool {
        var value = MDB_val()
        let code = LMDB.withValue(probe) { probeValue in
            let code = mdb_cursor_get(cursor, &probeValue, &value, MDB_SET_RANGE)
            currentKey = probeValue  // LMDB points it at the key found, inside the map
            return code
        }
        currentValue = value
        return try finish(code, "mdb_cursor_get(MDB_SET_RANGE)")
    }

    private func finish(_ code: Int32, _ operation: String) throws(BackendError) -> Bool {
        switch code {
        case MDB_SUCCESS: return true
        case MDB_NOTFOUND: return false
        default: throw catalog.failure(operation, code)
        }
    }
}
