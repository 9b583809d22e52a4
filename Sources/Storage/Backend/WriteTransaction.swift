/// The one open write transaction, lent to the closure given to
/// `Backend.write`. Its changes are visible to its own reads at once and to
/// everyone else only after the closure returns and the backend commits; if
/// the closure throws, none of them happen. etcd relies on exactly this to
/// store a batch of revisions together with the applied Raft index
/// (`meta`/`consistent_index`): both are on disk, or neither is.
///
/// Non-copyable and passed `inout`, so it cannot escape the closure.
///
/// Errors: a rejected argument (`emptyKey`, `keyTooLong`, `valueTooLarge`,
/// `unknownBucket`) changes nothing and the transaction goes on. Any other
/// failure poisons the transaction (LMDB cannot continue it): the backend
/// aborts it when the closure returns, and throws that failure even if the
/// closure caught it — except a full map, which the backend handles by
/// growing the map and running the closure again.
public struct WriteTransaction: ~Copyable {
    let base: LMDBTransaction
    /// The first failure LMDB reported in this transaction, if any.
    private(set) var failure: BackendError?

    init(_ base: LMDBTransaction) { self.base = base }

    /// Stores `value` under `key`, replacing any value there. Keys must be
    /// 1...`Backend.maxKeySize` bytes.
    public mutating func put(_ key: [UInt8], _ value: [UInt8], in bucket: Bucket) throws(BackendError) {
        let base = self.base  // the closure must not capture the `self` being mutated
        return try recording { () throws(BackendError) in try base.put(key, value, in: bucket) }
    }

    /// Removes `key`; returns whether it was there.
    @discardableResult
    public mutating func delete(_ key: [UInt8], in bucket: Bucket) throws(BackendError) -> Bool {
        let base = self.base  // the closure must not capture the `self` being mutated
        return try recording { () throws(BackendError) in try base.delete(key, in: bucket) }
    }

    /// Removes up to `limit` records with `start` ≤ key < `end` (to the end
    /// of the bucket when `end` is nil), lowest keys first; returns how many.
    /// The limit lets compaction delete old revisions in bounded steps
    /// rather than in one long transaction.
    @discardableResult
    public mutating func deleteRange(
        in bucket: Bucket, from start: [UInt8] = [], to end: [UInt8]?, limit: Int = .max
    ) throws(BackendError) -> Int {
        let base = self.base  // the closure must not capture the `self` being mutated
        return try recording { () throws(BackendError) in try base.deleteRange(in: bucket, from: start, to: end, limit: limit) }
    }

    // Reads see this transaction's own changes.

    /// See `ReadTransaction.get`.
    public func get(_ key: [UInt8], in bucket: Bucket) throws(BackendError) -> [UInt8]? {
        try base.lookup(key, in: bucket).map { Array($0) }
    }

    /// See `ReadTransaction.withValue`. The buffer is valid only until the
    /// next change in this transaction, and never past the closure.
    public func withValue<Result>(
        _ key: [UInt8], in bucket: Bucket, _ body: (UnsafeRawBufferPointer?) throws -> Result
    ) throws -> Result {
        try body(try base.lookup(key, in: bucket))
    }

    /// See `ReadTransaction.forEach`. Do not change the bucket from `body`.
    public func forEach(
        in bucket: Bucket, from start: [UInt8] = [], to end: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try base.forEach(in: bucket, from: start, to: end, reverse: false, body)
    }

    /// See `ReadTransaction.forEachReversed`.
    public func forEachReversed(
        in bucket: Bucket, from start: [UInt8] = [], to end: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try base.forEach(in: bucket, from: start, to: end, reverse: true, body)
    }

    /// See `ReadTransaction.entries`.
    public func entries(
        in bucket: Bucket, from start: [UInt8] = [], to end: [UInt8]? = nil, limit: Int = .max
    ) throws(BackendError) -> [BackendEntry] {
        try base.entries(in: bucket, from: start, to: end, limit: limit)
    }

    /// See `ReadTransaction.last`.
    public func last(in bucket: Bucket, before end: [UInt8]? = nil) throws(BackendError) -> BackendEntry? {
        try base.last(in: bucket, before: end)
    }

    /// See `ReadTransaction.count`.
    public func count(in bucket: Bucket) throws(BackendError) -> Int {
        try base.count(in: bucket)
    }

    /// Runs a change, remembering the first failure that came from LMDB
    /// (argument checks happen before LMDB is called and poison nothing).
    private mutating func recording<Result>(_ change: () throws(BackendError) -> Result) throws(BackendError) -> Result {
        do {
            return try change()
        } catch {
            switch error {
            case .lmdb, .notADatabase: failure = failure ?? error
            default: break
            }
            throw error
        }
    }
}
