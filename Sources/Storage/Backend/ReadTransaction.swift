/// A consistent, read-only view of the whole backend: every read in one
/// transaction sees the same committed state, whatever writers commit
/// meanwhile (LMDB's MVCC: readers never block writers or each other).
///
/// Only lent to the closure given to `Backend.read`: it is non-copyable and
/// borrowed, so it cannot outlive the transaction. Buffers handed to
/// closures point into the memory map and are valid only inside them.
public struct ReadTransaction: ~Copyable {
    let base: LMDBTransaction

    init(_ base: LMDBTransaction) { self.base = base }

    /// A copy of the value stored under `key`, or nil. A key LMDB could not
    /// store (empty, or longer than `Backend.maxKeySize`) is simply absent.
    public func get(_ key: [UInt8], in bucket: Bucket) throws(BackendError) -> [UInt8]? {
        try base.lookup(key, in: bucket).map { Array($0) }
    }

    /// Calls `body` with the value stored under `key` (nil when absent),
    /// without copying it out of the map.
    public func withValue<Result>(
        _ key: [UInt8], in bucket: Bucket, _ body: (UnsafeRawBufferPointer?) throws -> Result
    ) throws -> Result {
        try body(try base.lookup(key, in: bucket))
    }

    /// Calls `body` for each record with `start` ≤ key < `end` (no upper
    /// bound when `end` is nil), in ascending byte order, until it returns
    /// false. `[start, end)` is etcd's range convention.
    public func forEach(
        in bucket: Bucket, from start: [UInt8] = [], to end: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try base.forEach(in: bucket, from: start, to: end, reverse: false, body)
    }

    /// As `forEach`, from the largest key below `end` down to `start`.
    public func forEachReversed(
        in bucket: Bucket, from start: [UInt8] = [], to end: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try base.forEach(in: bucket, from: start, to: end, reverse: true, body)
    }

    /// Copies of at most `limit` records with `start` ≤ key < `end`, in order.
    public func entries(
        in bucket: Bucket, from start: [UInt8] = [], to end: [UInt8]? = nil, limit: Int = .max
    ) throws(BackendError) -> [BackendEntry] {
        try base.entries(in: bucket, from: start, to: end, limit: limit)
    }

    /// The record with the largest key below `end` (the largest of all when
    /// `end` is nil): on startup, the newest revision in the `key` bucket.
    public func last(in bucket: Bucket, before end: [UInt8]? = nil) throws(BackendError) -> BackendEntry? {
        try base.last(in: bucket, before: end)
    }

    /// The number of records in the bucket (kept by LMDB; no scan).
    public func count(in bucket: Bucket) throws(BackendError) -> Int {
        try base.count(in: bucket)
    }
}
