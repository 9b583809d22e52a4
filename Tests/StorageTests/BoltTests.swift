import Testing

@testable import Storage

/// The bbolt writer and reader: what the writer produces reads back
/// record for record (small and large values, trees several levels deep,
/// empty buckets), the layout holds bbolt's invariants, and damaged files
/// are refused with an error, never a crash. That real bbolt (etcdctl)
/// reads the writer's files is checked by `SnapshotTests` in
/// IntegrationTests.
@Suite struct BoltTests {
    typealias Records = [(key: [UInt8], value: [UInt8])]

    /// A file in an in-memory file system.
    final class Fixture {
        let fs = SimulatedFileSystem(seed: 1)
        let path = "/bolt/db"

        init() throws { try fs.createDirectory("/bolt") }

        /// Writes `buckets` (each bucket's records sorted here) and returns the size.
        @discardableResult
        func write(_ buckets: [(name: String, records: Records)], pageSize: Int = 4096) throws -> Int {
            let file = try fs.open(path, mode: .truncate)
            defer { file.close() }
            let writer = try BoltWriter(file: file, pageSize: pageSize)
            for bucket in buckets {
                try writer.beginBucket(Array(bucket.name.utf8))
                for record in bucket.records.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                    try writer.put(record.key, record.value)
                }
                try writer.endBucket()
            }
            return try writer.finish()
        }

        func read(length: Int? = nil) throws -> [String: Records] {
            let file = try fs.open(path, mode: .readOnly)
            defer { file.close() }
            let reader = try BoltReader(file: file, length: length)
            var out: [String: Records] = [:]
            for name in try reader.bucketNames() {
                var records: Records = []
                try reader.forEach(inBucket: name) { key, value in
                    records.append((key, value))
                    return true
                }
                out[String(decoding: name, as: UTF8.self)] = records
            }
            return out
        }

        var bytes: [UInt8] { fs.contents(of: path) ?? [] }

        func replace(with bytes: [UInt8]) throws {
            let file = try fs.open(path, mode: .truncate)
            defer { file.close() }
            try file.write(bytes, at: 0)
        }
    }

    static func revisionKey(_ main: Int, sub: Int = 0) -> [UInt8] {
        var key: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: main >> shift)) }
        key.append(UInt8(ascii: "_"))
        for shift in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: sub >> shift)) }
        return key
    }

    static func expectEqual(_ a: Records?, _ b: Records, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let a else {
            Issue.record("bucket missing", sourceLocation: sourceLocation)
            return
        }
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        let sorted = b.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        for (x, y) in zip(a, sorted) where x.key != y.key || x.value != y.value {
            Issue.record("record \(x.key) differs", sourceLocation: sourceLocation)
            return
        }
    }

    @Test func bucketsRoundTripInByteOrder() throws {
        let fixture = try Fixture()
        let key: Records = (1...50).map { (Self.revisionKey($0), Array("value \($0)".utf8)) }
        let meta: Records = [(Array("consistent_index".utf8), [0, 0, 0, 0, 0, 0, 0, 9]), (Array("a".utf8), [])]
        // Buckets given out of order; the root bucket lists them sorted.
        let size = try fixture.write([("meta", meta), ("key", key), ("alarm", [])])
        #expect(size % 4096 == 0 && size == fixture.bytes.count)
        let read = try fixture.read()
        #expect(read.keys.sorted() == ["alarm", "key", "meta"])
        Self.expectEqual(read["key"], key)
        Self.expectEqual(read["meta"], meta)
        Self.expectEqual(read["alarm"], [])
        let file = try fixture.fs.open(fixture.path, mode: .readOnly)
        let reader = try BoltReader(file: file)
        #expect(try reader.bucketNames() == [Array("alarm".utf8), Array("key".utf8), Array("meta".utf8)])
        #expect(try reader.count(inBucket: Array("key".utf8)) == 50)
        #expect(try reader.hasBucket(Array("lease".utf8)) == false)
        #expect(throws: BoltError.bucketNotFound(path: fixture.path, name: "lease")) {
            try reader.forEach(inBucket: Array("lease".utf8)) { _, _ in true }
        }
    }

    @Test func emptyDatabaseAndEmptyBuckets() throws {
        let fixture = try Fixture()
        // Meta, meta, freelist, root leaf.
        #expect(try fixture.write([]) == 4 * 4096)
        #expect(try fixture.read().isEmpty)
        try fixture.write([("a", []), ("b", [])])
        let read = try fixture.read()
        #expect(read["a"]?.isEmpty == true && read["b"]?.isEmpty == true)
    }

    /// Values from empty to 1.5 MiB (etcd's largest request), around and
    /// across page boundaries: each large one spans overflow pages.
    @Test func largeValuesUseOverflowPages() throws {
        let fixture = try Fixture()
        let sizes = [0, 1, 4000, 4064, 4065, 4096, 8192, 10_000, 100_000, 1_572_864]
        var records: Records = []
        for (i, size) in sizes.enumerated() {
            records.append((Self.revisionKey(2 * i + 1), (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }))
            records.append((Self.revisionKey(2 * i + 2), [UInt8(i)]))
        }
        let size = try fixture.write([("key", records)])
        #expect(size > 1_572_864 + 100_000)
        Self.expectEqual(try fixture.read()["key"], records)
    }

    /// Enough keys for leaves, branch pages and branches above those: with
    /// 512-byte pages, 20,000 revision keys need four levels.
    @Test(arguments: [512, 4096]) func manyKeysBuildBranchPages(pageSize: Int) throws {
        let fixture = try Fixture()
        let records: Records = (1...20_000).map { (Self.revisionKey($0, sub: $0 % 3), Array("v\($0)".utf8)) }
        try fixture.write([("key", records), ("lease", [])], pageSize: pageSize)
        Self.expectEqual(try fixture.read()["key"], records)
        let depth = try Self.depth(of: "key", in: fixture.bytes, pageSize: pageSize)
        #expect(depth >= (pageSize == 512 ? 4 : 2))
    }

    /// The layout bbolt relies on: meta pages 0 and 1 (transaction IDs 0
    /// and 1, fnv-64a checksums), an empty freelist at page 2, every other
    /// page below the high-water mark in exactly one tree, each page
    /// header naming its own page.
    @Test func layoutMatchesBbolt() throws {
        let fixture = try Fixture()
        let records: Records = (1...3000).map { (Self.revisionKey($0), [UInt8](repeating: 1, count: $0 % 50)) }
        let big: Records = [(Array("big".utf8), [UInt8](repeating: 2, count: 20_000))]
        try fixture.write([("key", records), ("meta", big), ("empty", [])])
        let bytes = fixture.bytes
        let meta0 = try #require(try? BoltMeta.decode(bytes, at: 16).get())
        let meta1 = try #require(try? BoltMeta.decode(bytes, at: 4096 + 16).get())
        #expect(meta0.txid == 0 && meta1.txid == 1 && meta0.root == meta1.root)
        #expect(meta0.freelist == 2 && Int(meta0.highWater) * 4096 == bytes.count && meta0.pageSize == 4096)
        #expect(BoltPageHeader(bytes, at: 0)?.flags == BoltLayout.PageFlag.meta)
        let freelist = try #require(BoltPageHeader(bytes, at: 2 * 4096))
        #expect(freelist.flags == BoltLayout.PageFlag.freelist && freelist.count == 0 && freelist.id == 2)
        var seen = [Bool](repeating: false, count: Int(meta0.highWater))
        seen[0] = true
        seen[1] = true
        seen[2] = true
        func mark(_ page: UInt64) throws {
            let header = try #require(BoltPageHeader(bytes, at: Int(page) * 4096))
            #expect(header.id == page)
            for p in Int(page)...Int(page) + Int(header.overflow) {
                #expect(!seen[p], "page \(p) referenced twice")
                seen[p] = true
            }
            if header.flags == BoltLayout.PageFlag.branch {
                for i in 0..<Int(header.count) {
                    try mark(BoltBytes.load(UInt64.self, bytes, at: Int(page) * 4096 + 16 + i * 16 + 8))
                }
            }
        }
        try mark(meta0.root)
        for root in try Self.bucketRoots(in: bytes, pageSize: 4096).values { try mark(root) }
        #expect(seen.allSatisfy { $0 }, "every page below the high-water mark is in use")
    }

    @Test func writerRefusesMisuse() throws {
        let fixture = try Fixture()
        func writer() throws -> BoltWriter { try BoltWriter(file: try fixture.fs.open(fixture.path, mode: .truncate)) }
        #expect(throws: BoltError.self) { try BoltWriter(file: try fixture.fs.open(fixture.path, mode: .truncate), pageSize: 1000) }
        var w = try writer()
        #expect(throws: BoltError.self) { try w.put([1], [1]) }  // outside a bucket
        w = try writer()
        try w.beginBucket(Array("b".utf8))
        try w.put([2], [])
        #expect(throws: BoltError.self) { try w.put([1], []) }  // out of order
        w = try writer()
        try w.beginBucket(Array("b".utf8))
        try w.put([2], [])
        #expect(throws: BoltError.self) { try w.put([2], []) }  // duplicate
        w = try writer()
        try w.beginBucket(Array("b".utf8))
        #expect(throws: BoltError.self) { try w.put([], [1]) }  // empty key
        w = try writer()
        try w.beginBucket(Array("b".utf8))
        #expect(throws: BoltError.self) { try w.finish() }  // bucket still open
        w = try writer()
        try w.beginBucket(Array("b".utf8))
        try w.endBucket()
        #expect(throws: BoltError.self) { try w.beginBucket(Array("b".utf8)) }  // twice
        w = try writer()
        _ = try w.finish()
        #expect(throws: BoltError.self) { try w.beginBucket(Array("c".utf8)) }  // after finish
    }

    /// etcd keeps small buckets inline in the root bucket's leaf (a
    /// bucket header with root 0 followed by the page); the reader takes
    /// them, and the newer meta page when both are valid, the older when
    /// the newer is damaged.
    @Test func readsInlineBucketsAndFallsBackToTheOlderMeta() throws {
        let fixture = try Fixture()
        let inlineRecords: Records = [([1], [10]), ([2], []), ([3], [30, 31])]
        var inlinePage = BoltPageBuilder(isLeaf: true)
        for record in inlineRecords {
            record.key.withUnsafeBytes { k in record.value.withUnsafeBytes { v in inlinePage.appendLeaf(key: k, value: v, flags: 0) } }
        }
        let inlineValue = [UInt8](repeating: 0, count: 16) + inlinePage.encode(id: 0, pageSize: 4096).prefix(inlinePage.size)
        let file = try fixture.fs.open(fixture.path, mode: .truncate)
        var sink = BoltPageSink(file: file, pageSize: 4096, firstPage: 3)
        var root = BoltTreeBuilder(pageSize: 4096)
        try Array("inline".utf8).withUnsafeBytes { k in
            try inlineValue.withUnsafeBytes { v in try root.append(key: k, value: v, flags: 1, to: &sink) }
        }
        let rootPage = try root.finish(to: &sink)
        try sink.flush()
        var head = [UInt8](repeating: 0, count: 3 * 4096)
        for txid in [UInt64(0), 1] {
            let meta = BoltMeta(pageSize: 4096, root: rootPage, freelist: BoltLayout.noFreelist, highWater: sink.nextPage, txid: txid)
            head.replaceSubrange(Int(txid) * 4096 + 16..<Int(txid) * 4096 + 80, with: meta.encoded())
        }
        try file.write(head, at: 0)
        Self.expectEqual(try fixture.read()["inline"], inlineRecords)

        // Damage meta page 1 (the newer): page 0 is used.
        var bytes = fixture.bytes
        bytes[4096 + 16 + 40] ^= 0xFF
        try fixture.replace(with: bytes)
        Self.expectEqual(try fixture.read()["inline"], inlineRecords)
        // Both damaged: a checksum error.
        bytes[16 + 40] ^= 0xFF
        try fixture.replace(with: bytes)
        #expect(throws: BoltError.checksumMismatch(path: fixture.path)) { try fixture.read() }
    }

    @Test func foreignShortAndTruncatedFilesAreRefused() throws {
        let fixture = try Fixture()
        try fixture.replace(with: [])
        #expect(throws: BoltError.notABoltFile(path: fixture.path)) { try fixture.read() }
        var random = SeededRandom(seed: 7)
        try fixture.replace(with: (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &random) })
        #expect(throws: BoltError.notABoltFile(path: fixture.path)) { try fixture.read() }

        let records: Records = (1...500).map { (Self.revisionKey($0), [UInt8](repeating: 3, count: 100)) }
        let size = try fixture.write([("key", records)])
        let good = fixture.bytes
        // Cut short (a copy interrupted): refused before any page is read.
        try fixture.replace(with: Array(good.prefix(size - 4096)))
        #expect(throws: BoltError.truncated(path: fixture.path, expectedBytes: size, actualBytes: size - 4096)) {
            try fixture.read()
        }
        // A length shorter than the file (the caller strips a trailer).
        try fixture.replace(with: good)
        #expect(throws: BoltError.self) { try fixture.read(length: size - 1) }
        // Another format version.
        var other = good
        other[16 + 4] = 3
        other[4096 + 16 + 4] = 3
        try fixture.replace(with: other)
        #expect(throws: BoltError.versionMismatch(path: fixture.path, version: 3)) { try fixture.read() }
    }

    /// Random damage anywhere in a valid file — page headers, element
    /// offsets, branch pointers, data — ends in a `BoltError` or in
    /// records read back; never a crash, a hang or an endless walk.
    @Test func damagedFilesNeverCrashTheReader() throws {
        let fixture = try Fixture()
        var records: Records = (1...3000).map { (Self.revisionKey($0), [UInt8](repeating: UInt8($0 % 251), count: $0 % 40)) }
        records.append((Self.revisionKey(5000), [UInt8](repeating: 9, count: 9000)))
        try fixture.write([("key", records), ("meta", [([1], [2])])], pageSize: 512)
        let good = fixture.bytes
        var random = SeededRandom(seed: 42)
        var refused = 0
        for round in 0..<400 {
            var bytes = good
            // Headers and element tables are what the reader trusts least:
            // aim half of the damage at the first 64 bytes of a page.
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let page = Int.random(in: 0..<bytes.count / 512, using: &random)
                let offset = round % 2 == 0 ? Int.random(in: 0..<64, using: &random) : Int.random(in: 0..<512, using: &random)
                bytes[page * 512 + offset] = UInt8.random(in: 0...255, using: &random)
            }
            try fixture.replace(with: bytes)
            do {
                _ = try fixture.read()
            } catch is BoltError {
                refused += 1
            }
        }
        #expect(refused > 100)
    }

    // MARK: Helpers reading the layout directly

    static func bucketRoots(in bytes: [UInt8], pageSize: Int) throws -> [String: UInt64] {
        let meta = try BoltMeta.decode(bytes, at: pageSize + 16).get()
        let page = Int(meta.root) * pageSize
        let header = try #require(BoltPageHeader(bytes, at: page))
        var roots: [String: UInt64] = [:]
        for i in 0..<Int(header.count) {
            let element = page + 16 + i * 16
            let pos = Int(BoltBytes.load(UInt32.self, bytes, at: element + 4))
            let keySize = Int(BoltBytes.load(UInt32.self, bytes, at: element + 8))
            let key = Array(bytes[element + pos..<element + pos + keySize])
            roots[String(decoding: key, as: UTF8.self)] = BoltBytes.load(UInt64.self, bytes, at: element + pos + keySize)
        }
        return roots
    }

    static func depth(of bucket: String, in bytes: [UInt8], pageSize: Int) throws -> Int {
        var page = try #require(try bucketRoots(in: bytes, pageSize: pageSize)[bucket])
        var depth = 1
        while let header = BoltPageHeader(bytes, at: Int(page) * pageSize), header.flags == BoltLayout.PageFlag.branch {
            page = BoltBytes.load(UInt64.self, bytes, at: Int(page) * pageSize + 16 + 8)
            depth += 1
        }
        return depth
    }
}

