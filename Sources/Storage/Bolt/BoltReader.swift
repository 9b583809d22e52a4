/// Reads a bbolt database file — etcd's backend, or a snapshot taken with
/// `etcdctl snapshot save` (give `length` without the 32-byte SHA-256
/// trailer) — bucket by bucket, in key order, a page at a time: the file
/// is never held in memory, and nothing in it is trusted. The current
/// meta page is chosen as bbolt chooses it (the valid one with the higher
/// transaction ID); then every page number, page type, element count and
/// offset is checked before use, a page referenced twice or keys out of
/// order are refused, and the tree depth is bounded, so a damaged or
/// hostile file yields a `BoltError`, never a crash or an endless walk.
///
/// Reads top-level buckets and their records, inline or on pages, with
/// large values on overflow pages. Nested buckets (which etcd never
/// writes) are refused as unsupported. The freelist is not read.
///
/// Use from one thread; not `Sendable`.
public final class BoltReader {
    public let path: String
    public let pageSize: Int
    /// The high-water mark: the database is `pageCount × pageSize` bytes.
    public let pageCount: UInt64
    /// The current meta page's transaction ID.
    public let transactionID: UInt64
    private let file: any DurableFile
    private let rootPage: UInt64

    /// B+trees deeper than this are refused (a bbolt tree of 2^64 keys in
    /// 4 KiB pages is about 15 levels deep).
    private static let maxDepth = 64

    /// Opens the database in the first `length` bytes of `file` (all of it
    /// when nil).
    public init(file: any DurableFile, length: Int? = nil) throws(BoltError) {
        self.file = file
        path = file.path
        var available = 0
        if let length {
            available = length
        } else {
            do {
                available = try file.size()
            } catch {
                throw .io(error)
            }
        }
        let meta = try Self.currentMeta(file: file, length: available)
        pageSize = Int(meta.pageSize)
        pageCount = meta.highWater
        transactionID = meta.txid
        rootPage = meta.root
        let (needed, overflow) = meta.highWater.multipliedReportingOverflow(by: UInt64(meta.pageSize))
        guard !overflow, needed <= UInt64(available) else {
            throw .truncated(path: path, expectedBytes: overflow ? Int.max : Int(clamping: needed), actualBytes: available)
        }
        guard meta.highWater >= 3, meta.root >= 2, meta.root < meta.highWater else {
            throw .corrupt(path: path, page: meta.root, reason: "the meta page names root page \(meta.root) of \(meta.highWater)")
        }
    }

    /// The database's size in bytes (what etcd reports as its size).
    public var size: Int { Int(pageCount) * pageSize }

    /// The names of the top-level buckets, in byte order.
    public func bucketNames() throws(BoltError) -> [[UInt8]] {
        var names: [[UInt8]] = []
        try forEachBucketHeader { name, _ in
            names.append(name)
            return true
        }
        return names
    }

    /// Calls `body` with each record of bucket `name`, in ascending key
    /// order, until it returns false.
    public func forEach(inBucket name: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws {
        guard let root = try bucketRoot(name) else {
            throw BoltError.bucketNotFound(path: path, name: String(decoding: name, as: UTF8.self))
        }
        var walk = Walk()
        _ = try visit(root, depth: 0, walk: &walk) { flags, key, value, page in
            guard flags & BoltLayout.bucketLeafFlag == 0 else {
                throw BoltError.unsupported(
                    path: path, reason: "bucket \(String(decoding: name, as: UTF8.self)) holds a nested bucket (page \(page))")
            }
            return try body(key, value)
        }
    }

    /// The number of records in bucket `name`.
    public func count(inBucket name: [UInt8]) throws -> Int {
        var n = 0
        try forEach(inBucket: name) { _, _ in
            n += 1
            return true
        }
        return n
    }

    /// Whether the file has a top-level bucket `name`.
    public func hasBucket(_ name: [UInt8]) throws(BoltError) -> Bool {
        try bucketRoot(name) != nil
    }

    // MARK: Internals

    /// Where a tree starts: a page, or a leaf stored inline in its parent.
    private enum TreeRoot {
        case page(UInt64)
        case inline([UInt8])
    }

    /// What one walk of a tree remembers: the pages it has seen (a valid
    /// tree references each once) and the last key (keys ascend).
    private struct Walk {
        var visited: Set<UInt64> = []
        var lastKey: [UInt8]?
    }

    private func bucketRoot(_ name: [UInt8]) throws(BoltError) -> TreeRoot? {
        var found: TreeRoot?
        try forEachBucketHeader { bucket, root in
            guard bucket == name else { return true }
            found = root
            return false
        }
        return found
    }

    /// Visits the root bucket's elements: every one must be a bucket.
    private func forEachBucketHeader(_ body: ([UInt8], TreeRoot) throws(BoltError) -> Bool) throws(BoltError) {
        var walk = Walk()
        do {
            _ = try visit(.page(rootPage), depth: 0, walk: &walk) { flags, key, value, page in
                guard flags & BoltLayout.bucketLeafFlag != 0, value.count >= BoltLayout.bucketHeaderSize else {
                    throw BoltError.corrupt(path: path, page: page, reason: "the root bucket holds a record that is not a bucket")
                }
                let root = BoltBytes.load(UInt64.self, value, at: 0)
                return try body(key, root == 0 ? .inline(Array(value[BoltLayout.bucketHeaderSize...])) : .page(root))
            }
        } catch let error as BoltError {
            throw error
        } catch {
            throw .corrupt(path: path, page: rootPage, reason: "\(error)")
        }
    }

    /// Walks a tree depth-first, calling `body` with each leaf element's
    /// flags, key, value and page; returns false once `body` did.
    private func visit(
        _ root: TreeRoot, depth: Int, walk: inout Walk,
        _ body: (UInt32, [UInt8], [UInt8], UInt64) throws -> Bool
    ) throws -> Bool {
        guard depth <= Self.maxDepth else {
            throw BoltError.corrupt(path: path, page: 0, reason: "the tree is deeper than \(Self.maxDepth) levels")
        }
        let bytes: [UInt8]
        let pageID: UInt64
        switch root {
        case .page(let id):
            guard walk.visited.insert(id).inserted else {
                throw BoltError.corrupt(path: path, page: id, reason: "page referenced twice")
            }
            bytes = try readPage(id)
            pageID = id
        case .inline(let page):
            bytes = page
            pageID = 0
        }
        let node = try BoltNodeView(bytes, page: pageID, path: path)
        if node.isLeaf {
            for i in 0..<node.count {
                let element = node.leafElement(i)
                let key = Array(bytes[element.key])
                if let last = walk.lastKey, !last.lexicographicallyPrecedes(key) {
                    throw BoltError.corrupt(path: path, page: pageID, reason: "keys out of order")
                }
                walk.lastKey = key
                guard try body(element.flags, key, Array(bytes[element.value]), pageID) else { return false }
            }
        } else {
            if case .inline = root {
                throw BoltError.corrupt(path: path, page: pageID, reason: "an inline bucket holds a branch page")
            }
            for i in 0..<node.count {
                let child = node.branchChild(i)
                guard try visit(.page(child), depth: depth + 1, walk: &walk, body) else { return false }
            }
        }
        return true
    }

    /// Page `id` with its overflow pages, after checking that it is a page
    /// of the tree (not a meta page, below the high-water mark, numbered
    /// as its header says).
    private func readPage(_ id: UInt64) throws(BoltError) -> [UInt8] {
        guard id >= 2, id < pageCount else {
            throw .corrupt(path: path, page: id, reason: "page number out of range (high-water mark \(pageCount))")
        }
        let offset = Int(id) * pageSize
        var bytes = try read(at: offset, count: pageSize)
        guard let header = BoltPageHeader(bytes), header.id == id else {
            throw .corrupt(path: path, page: id, reason: "the page header names another page")
        }
        if header.overflow > 0 {
            guard UInt64(header.overflow) < pageCount - id else {
                throw .corrupt(path: path, page: id, reason: "overflow of \(header.overflow) pages runs past the high-water mark")
            }
            bytes += try read(at: offset + pageSize, count: Int(header.overflow) * pageSize)
        }
        return bytes
    }

    private func read(at offset: Int, count: Int) throws(BoltError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try file.read(at: offset, count: count)
        } catch {
            throw .io(error)
        }
        guard bytes.count == count else {
            throw .truncated(path: path, expectedBytes: offset + count, actualBytes: offset + bytes.count)
        }
        return bytes
    }

    /// bbolt's choice of meta page: the valid one with the higher
    /// transaction ID. Page 0 gives the page size, as bbolt reads it.
    private static func currentMeta(file: any DurableFile, length: Int) throws(BoltError) -> BoltMeta {
        func read(_ offset: Int, _ count: Int) throws(BoltError) -> [UInt8] {
            guard offset < length else { return [] }
            do {
                return try file.read(at: offset, count: min(count, length - offset))
            } catch {
                throw .io(error)
            }
        }
        let span = BoltLayout.pageHeaderSize + BoltLayout.metaSize
        let first = BoltMeta.decode(try read(0, span), at: BoltLayout.pageHeaderSize)
        var pageSize = 4096
        if case .success(let meta) = first, BoltLayout.pageSizes.contains(Int(meta.pageSize)) {
            pageSize = Int(meta.pageSize)
        }
        let second = BoltMeta.decode(try read(pageSize, span), at: BoltLayout.pageHeaderSize)
        let valid = [first, second].compactMap { result -> BoltMeta? in
            guard case .success(let meta) = result, Int(meta.pageSize) == pageSize else { return nil }
            return meta
        }
        if let newest = valid.max(by: { $0.txid < $1.txid }) { return newest }
        for result in [first, second] {
            if case .failure(.badVersion(let version)) = result {
                throw .versionMismatch(path: file.path, version: version)
            }
        }
        for result in [first, second] {
            if case .failure(.badChecksum) = result { throw .checksumMismatch(path: file.path) }
        }
        if length < 2 * pageSize, case .success = first {
            throw .truncated(path: file.path, expectedBytes: 2 * pageSize, actualBytes: length)
        }
        throw .notABoltFile(path: file.path)
    }
}
