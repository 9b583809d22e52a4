/// Writes a new bbolt database file — what etcd's backend is and what
/// `etcdctl snapshot save` stores — from buckets whose keys are given in
/// ascending order. The file is built front to back without holding it
/// in memory: each bucket's B+tree is bulk-loaded (`BoltTreeBuilder`),
/// then the root bucket, an empty freelist page and the two meta pages
/// are written, and the file is synced.
///
/// Layout of the result: pages 0 and 1 are meta pages (transaction IDs 0
/// and 1, so bbolt takes page 1), page 2 the freelist (empty: every other
/// page is in use), then each bucket's pages, then the root bucket's
/// leaf. Every bucket gets its own pages, even a small one that bbolt
/// would have stored inline in the root bucket's leaf; bbolt reads both,
/// and `tx.Check()` (run by `etcdctl snapshot status`) finds every page
/// below the high-water mark reachable exactly once.
///
/// Use from one thread; not `Sendable`. After any error the writer is
/// failed and the file must be discarded.
public final class BoltWriter {
    public static let defaultPageSize = 4096

    public let pageSize: Int
    private let file: any DurableFile
    private var sink: BoltPageSink
    private var state = State.ready
    /// Finished buckets: name → root page.
    private var buckets: [(name: [UInt8], root: UInt64)] = []

    private enum State {
        case ready
        case inBucket(name: [UInt8], tree: BoltTreeBuilder)
        case finished
        case failed
    }

    /// Page numbers of the fixed pages.
    private static let freelistPage: UInt64 = 2
    private static let firstDataPage: UInt64 = 3

    /// Starts a database in `file`, which should be empty (it is written
    /// from offset 0 and never truncated).
    public init(file: any DurableFile, pageSize: Int = defaultPageSize) throws(BoltError) {
        guard BoltLayout.pageSizes.contains(pageSize) else {
            throw .invalidInput(reason: "page size \(pageSize) is not a power of two from 512 to 65536")
        }
        self.file = file
        self.pageSize = pageSize
        self.sink = BoltPageSink(file: file, pageSize: pageSize, firstPage: Self.firstDataPage)
    }

    /// Starts a top-level bucket; its keys follow with `put`, in ascending
    /// byte order, then `endBucket`. Buckets may come in any order.
    public func beginBucket(_ name: [UInt8]) throws(BoltError) {
        guard case .ready = state else { throw fail("beginBucket while a bucket is open or after finish") }
        guard !name.isEmpty, name.count <= BoltLayout.maxKeySize else {
            throw fail("a bucket name must have 1 to \(BoltLayout.maxKeySize) bytes")
        }
        guard !buckets.contains(where: { $0.name == name }) else {
            throw fail("bucket \(String(decoding: name, as: UTF8.self)) written twice")
        }
        state = .inBucket(name: name, tree: BoltTreeBuilder(pageSize: pageSize))
    }

    /// Adds a record to the open bucket. Keys: 1 to 32,768 bytes, each
    /// greater than the previous; values up to 2 GiB - 2 bytes.
    public func put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(BoltError) {
        guard case .inBucket(let name, var tree) = state else { throw fail("put outside a bucket") }
        // Out of `state` while it grows, so its buffers are not copied on
        // write; an error leaves the writer failed.
        state = .failed
        try tree.append(key: key, value: value, to: &sink)
        state = .inBucket(name: name, tree: tree)
    }

    public func put(_ key: [UInt8], _ value: [UInt8]) throws(BoltError) {
        try withBoltBytes(key, value) { (k, v) throws(BoltError) in try put(key: k, value: v) }
    }

    /// Writes what remains of the open bucket's tree.
    public func endBucket() throws(BoltError) {
        guard case .inBucket(let name, var tree) = state else { throw fail("endBucket without beginBucket") }
        state = .failed
        let root = try tree.finish(to: &sink)
        buckets.append((name, root))
        state = .ready
    }

    /// Writes the root bucket, the freelist and the meta pages, syncs the
    /// file and returns the database's size in bytes (a whole number of
    /// pages: the high-water mark times the page size).
    public func finish() throws(BoltError) -> Int {
        guard case .ready = state else { throw fail("finish while a bucket is open or after finish") }
        state = .failed
        var root = BoltTreeBuilder(pageSize: pageSize)
        for bucket in buckets.sorted(by: { $0.name.lexicographicallyPrecedes($1.name) }) {
            var header = [UInt8](repeating: 0, count: BoltLayout.bucketHeaderSize)
            BoltBytes.store(bucket.root, into: &header, at: 0)
            try withBoltBytes(bucket.name, header) { (k, v) throws(BoltError) in
                try root.append(key: k, value: v, flags: BoltLayout.bucketLeafFlag, to: &sink)
            }
        }
        let rootPage = try root.finish(to: &sink)
        try sink.flush()
        let highWater = sink.nextPage

        var fixed = [UInt8](repeating: 0, count: 3 * pageSize)
        for txid in [UInt64(0), 1] {
            let offset = Int(txid) * pageSize
            BoltPageHeader(id: txid, flags: BoltLayout.PageFlag.meta, count: 0, overflow: 0)
                .encode(into: &fixed, at: offset)
            let meta = BoltMeta(
                pageSize: UInt32(pageSize), root: rootPage, freelist: Self.freelistPage, highWater: highWater,
                txid: txid)
            let encoded = meta.encoded()
            for i in 0..<encoded.count { fixed[offset + BoltLayout.pageHeaderSize + i] = encoded[i] }
        }
        BoltPageHeader(id: Self.freelistPage, flags: BoltLayout.PageFlag.freelist, count: 0, overflow: 0)
            .encode(into: &fixed, at: 2 * pageSize)
        do {
            try file.write(fixed, at: 0)
            try file.sync()
        } catch {
            throw .io(error)
        }
        state = .finished
        return Int(highWater) * pageSize
    }

    private func fail(_ reason: String) -> BoltError {
        state = .failed
        return .invalidInput(reason: reason)
    }
}
