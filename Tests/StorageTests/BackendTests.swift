import Testing

@testable import Storage

/// The backend's contract on a real file: round trips, byte order, ranges,
/// deletes, atomicity, persistence. Each test opens its own database in a
/// fresh temporary directory.
@Suite struct BackendTests {
    static let key: Bucket = "key"
    static let meta: Bucket = "meta"

    @Test func putGetOverwriteAndBucketsAreSeparate() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open()
        try backend.write { txn throws in
            try txn.put([1, 2, 3], [10], in: Self.key)
            try txn.put([1, 2, 3], [20], in: Self.meta)  // same key, other bucket
            try txn.put([4], [], in: Self.key)  // empty value
            try txn.put([1, 2, 3], [11, 12], in: Self.key)  // overwrite
            #expect(try txn.get([1, 2, 3], in: Self.key) == [11, 12])  // own writes visible
        }
        try backend.read { txn throws in
            #expect(try txn.get([1, 2, 3], in: Self.key) == [11, 12])
            #expect(try txn.get([1, 2, 3], in: Self.meta) == [20])
            #expect(try txn.get([4], in: Self.key) == [])
            #expect(try txn.get([5], in: Self.key) == nil)
            let sum = try txn.withValue([1, 2, 3], in: Self.key) { value in value.map { $0.reduce(0) { $0 + Int($1) } } }
            #expect(sum == 23)
            #expect(try txn.withValue([9], in: Self.key) { $0 == nil })
            #expect(try txn.count(in: Self.key) == 2)
        }
        #expect(throws: BackendError.unknownBucket(name: "lease", path: fixture.path)) {
            try backend.read { txn in try txn.get([1], in: "lease") }
        }
    }

    @Test func iterationFollowsByteOrderWithinBounds() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open()
        // Keys of mixed lengths, inserted in scrambled order: byte order puts
        // a prefix before its extensions and compares bytes unsigned.
        let keys: [[UInt8]] = [[2], [1, 0], [0xFF], [1], [1, 0, 0], [0x80, 1], [0x7F], [1, 1], [0, 0xFF, 0xFF]]
        try backend.write { txn throws in
            for (i, key) in keys.enumerated() { try txn.put(key, [UInt8(i)], in: Self.key) }
        }
        let sorted = keys.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(sorted.first == [0, 0xFF, 0xFF] && sorted.last == [0xFF])

        func scan(from start: [UInt8], to end: [UInt8]?, reversed: Bool = false) throws -> [[UInt8]] {
            try backend.read { txn throws in
                var seen: [[UInt8]] = []
                let visit = { (key: UnsafeRawBufferPointer, _: UnsafeRawBufferPointer) -> Bool in
                    seen.append(Array(key))
                    return true
                }
                if reversed {
                    try txn.forEachReversed(in: Self.key, from: start, to: end, visit)
                } else {
                    try txn.forEach(in: Self.key, from: start, to: end, visit)
                }
                return seen
            }
        }
        func model(from start: [UInt8], to end: [UInt8]?) -> [[UInt8]] {
            sorted.filter { key in
                !key.lexicographicallyPrecedes(start) && (end.map { key.lexicographicallyPrecedes($0) } ?? true)
            }
        }

        let bounds: [[UInt8]] = [[], [0], [1], [1, 0], [1, 0, 0, 0], [1, 2], [0x7F, 0xFF], [0xFF], [0xFF, 0]]
        for start in bounds {
            for end in bounds.map(Optional.some) + [nil] {
                let expected = model(from: start, to: end)
                #expect(try scan(from: start, to: end) == expected, "[\(start), \(String(describing: end)))")
                #expect(try scan(from: start, to: end, reversed: true) == expected.reversed(), "reversed")
            }
        }

        try backend.read { txn throws in
            // Stopping early, limits, and the newest key.
            var visited = 0
            try txn.forEach(in: Self.key) { _, _ in
                visited += 1
                return visited < 3
            }
            #expect(visited == 3)
            #expect(try txn.entries(in: Self.key, from: [1], limit: 2).map(\.key) == [[1], [1, 0]])
            #expect(try txn.entries(in: Self.key, limit: 0).isEmpty)
            #expect(try txn.last(in: Self.key) == BackendEntry(key: [0xFF], value: [2]))
            #expect(try txn.last(in: Self.key, before: [0x80, 1])?.key == [0x7F])
            #expect(try txn.last(in: Self.key, before: [0, 0xFF, 0xFF]) == nil)
            #expect(try txn.last(in: Self.meta) == nil)
        }
    }

    @Test func boundsLongerThanAnyStorableKey() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open()
        let limit = backend.maxKeySize
        let longest = [UInt8](repeating: 7, count: limit)
        try backend.write { txn throws in
            try txn.put([7], [1], in: Self.key)
            try txn.put(longest, [2], in: Self.key)
            try txn.put([8], [3], in: Self.key)
        }
        let beyond = longest + [0]  // sorts just after `longest`; LMDB cannot take it as a probe
        try backend.read { txn throws in
            #expect(try txn.entries(in: Self.key, from: beyond).map(\.value) == [[3]])
            #expect(try txn.entries(in: Self.key, from: longest).map(\.value) == [[2], [3]])
            #expect(try txn.entries(in: Self.key, to: beyond).map(\.value) == [[1], [2]])
            #expect(try txn.last(in: Self.key, before: beyond)?.value == [2])
            #expect(try txn.get(beyond, in: Self.key) == nil)
        }
    }

    @Test func deleteAndDeleteRangeAcrossManyPages() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open()
        let count = 5_000
        try backend.write { txn throws in
            for i in 0..<count { try txn.put(revisionKey(i), recordValue(i, size: 100), in: Self.key) }
        }
        var model = Set(0..<count)
        try backend.write { txn throws in
            #expect(try txn.delete(revisionKey(10), in: Self.key))
            #expect(try !txn.delete(revisionKey(10), in: Self.key))
            #expect(try !txn.delete(revisionKey(count + 1), in: Self.key))
            #expect(try !txn.delete([UInt8](repeating: 1, count: 600), in: Self.key))  // unstorable: absent
            model.remove(10)
            // A bounded step of a compaction, then the rest of a range.
            #expect(try txn.deleteRange(in: Self.key, from: revisionKey(0), to: revisionKey(3_000), limit: 1_000) == 1_000)
            for i in 0..<1_001 { model.remove(i) }  // 0...1000 minus the 10 already gone
            #expect(try txn.deleteRange(in: Self.key, from: revisionKey(2_000), to: revisionKey(3_000)) == 1_000)
            for i in 2_000..<3_000 { model.remove(i) }
            // To the end of the bucket: the cursor runs off the last page.
            #expect(try txn.deleteRange(in: Self.key, from: revisionKey(4_500), to: nil) == 500)
            for i in 4_500..<count { model.remove(i) }
            #expect(try txn.deleteRange(in: Self.key, from: revisionKey(9_000), to: nil) == 0)
        }
        try backend.read { txn throws in
            #expect(try txn.count(in: Self.key) == model.count)
            var seen: [Int] = []
            try txn.forEach(in: Self.key) { key, value in
                let i = decodeRevision(key)
                seen.append(i)
                #expect(Array(value) == recordValue(i, size: 100))
                return true
            }
            #expect(seen == model.sorted())
        }
    }

    @Test func aThrowingWriteChangesNothing() throws {
        struct Refused: Error {}
        let fixture = try BackendFixture()
        let backend = try fixture.open()
        try backend.write { txn in try txn.put([1], [1], in: Self.key) }
        #expect(throws: Refused.self) {
            try backend.write { txn throws in
                try txn.put([1], [9], in: Self.key)
                try txn.put([2], [2], in: Self.key)
                try txn.put(Array("consistent_index".utf8), [0, 0, 0, 5], in: Self.meta)
                _ = try txn.deleteRange(in: Self.key, from: [], to: nil)
                throw Refused()
            }
        }
        try backend.read { txn throws in
            #expect(try txn.get([1], in: Self.key) == [1])
            #expect(try txn.get([2], in: Self.key) == nil)
            #expect(try txn.count(in: Self.meta) == 0)
        }
        // A rejected argument caught inside the closure poisons nothing.
        try backend.write { txn throws in
            #expect(throws: BackendError.emptyKey(bucket: "key")) { try txn.put([], [1], in: Self.key) }
            try txn.put([3], [3], in: Self.key)
        }
        #expect(try backend.read { txn in try txn.get([3], in: Self.key) } == [3])
    }

    @Test func committedDataSurvivesCloseAndReopen() throws {
        let fixture = try BackendFixture()
        do {
            let backend = try fixture.open()
            try backend.write { txn throws in
                for i in 0..<300 { try txn.put(revisionKey(i), recordValue(i, size: 300), in: Self.key) }
                try txn.put(Array("consistent_index".utf8), [0, 0, 0, 0, 0, 0, 1, 44], in: Self.meta)
            }
            try backend.sync()
            try backend.close()
            #expect(throws: BackendError.closed(path: fixture.path)) { try backend.read { _ in } }
            #expect(throws: BackendError.closed(path: fixture.path)) { try backend.write { _ in } }
            try backend.close()  // idempotent
        }
        do {
            // Reopen with one more bucket; the old ones keep their data.
            let backend = try fixture.open(buckets: ["key", "meta", "lease"])
            try backend.write { txn in try txn.put([1], [1], in: "lease") }
            try backend.read { txn throws in
                #expect(try txn.count(in: Self.key) == 300)
                #expect(try txn.get(revisionKey(299), in: Self.key) == recordValue(299, size: 300))
                #expect(try txn.last(in: Self.key)?.key == revisionKey(299))
                #expect(try txn.get(Array("consistent_index".utf8), in: Self.meta) == [0, 0, 0, 0, 0, 0, 1, 44])
            }
            // No close(): dropping the last reference closes it too.
        }
        let backend = try fixture.open(buckets: ["lease"])
        #expect(try backend.read { txn in try txn.get([1], in: "lease") } == [1])
    }

    @Test func manySmallTransactions() throws {
        let fixture = try BackendFixture()
        // Without fsync per commit: 2,000 fsyncs would time the disk.
        let backend = try fixture.open(options: BackendOptions(commitSync: .never))
        for i in 0..<2_000 {
            try backend.write { txn throws in
                try txn.put(revisionKey(i), recordValue(i, size: 64), in: Self.key)
                try txn.put(Array("consistent_index".utf8), revisionKey(i), in: Self.meta)
            }
        }
        try backend.read { txn throws in
            #expect(try txn.count(in: Self.key) == 2_000)
            #expect(try txn.get(Array("consistent_index".utf8), in: Self.meta) == revisionKey(1_999))
            #expect(try txn.get(revisionKey(1_234), in: Self.key) == recordValue(1_234, size: 64))
        }
        let size = try backend.sizeInBytes
        let inUse = try backend.sizeInUse
        // ~2,000 × (17 + 64 + overhead) bytes of records: tens of pages.
        #expect(inUse > 100 * 1024 && inUse <= size, "in use \(inUse), size \(size)")
        #expect(size < 4 * 1024 * 1024)
    }

    @Test func freedPagesAreReusedSoTheFileStopsGrowing() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open()
        func writeRevisions(_ range: Range<Int>) throws {
            for batch in stride(from: range.lowerBound, to: range.upperBound, by: 500) {
                try backend.write { txn throws in
                    for i in batch..<min(batch + 500, range.upperBound) {
                        try txn.put(revisionKey(i), recordValue(i, size: 300), in: Self.key)
                    }
                }
            }
        }
        try writeRevisions(0..<10_000)
        let afterWrite = try backend.sizeInBytes
        // Compact everything, in steps, then write as much again.
        while try backend.write({ txn in try txn.deleteRange(in: Self.key, to: nil, limit: 1_000) }) > 0 {}
        #expect(try backend.sizeInUse < afterWrite / 10)
        try writeRevisions(10_000..<20_000)
        let afterRewrite = try backend.sizeInBytes
        #expect(afterRewrite <= afterWrite + afterWrite / 20, "grew from \(afterWrite) to \(afterRewrite)")
    }

    @Test func keyLimits() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open()
        let limit = backend.maxKeySize
        #expect(limit == 511)  // Debian's liblmdb; etcd keys (1.5 MiB) must not be backend keys
        let tooLong = [UInt8](repeating: 0x61, count: limit + 1)
        try backend.write { txn throws in
            try txn.put([UInt8](repeating: 0x61, count: limit), [1], in: Self.key)
            #expect(throws: BackendError.keyTooLong(bucket: "key", length: limit + 1, maximum: limit)) {
                try txn.put(tooLong, [2], in: Self.key)
            }
            #expect(throws: BackendError.keyTooLong(bucket: "key", length: 1_572_864, maximum: limit)) {
                try txn.put([UInt8](repeating: 0, count: 1_572_864), [2], in: Self.key)
            }
            #expect(throws: BackendError.emptyKey(bucket: "key")) { try txn.put([], [2], in: Self.key) }
        }
        try backend.read { txn throws in
            #expect(try txn.get([UInt8](repeating: 0x61, count: limit), in: Self.key) == [1])
            #expect(try txn.get(tooLong, in: Self.key) == nil)
            #expect(try txn.get([], in: Self.key) == nil)
            #expect(try txn.count(in: Self.key) == 1)
        }
        let message = BackendError.keyTooLong(bucket: "key", length: 600, maximum: limit).description
        #expect(message.contains("600") && message.contains("511"))
    }

    @Test func writeSyncOrCloseInsideATransactionIsRefusedWithoutHanging() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open()
        let refused = BackendError.nestedTransaction(path: fixture.path)
        try backend.write { txn throws in
            try txn.put([1], [1], in: Self.key)
            #expect(throws: refused) { try backend.write { inner in try inner.put([2], [2], in: Self.key) } }
            #expect(throws: refused) { try backend.sync() }
            #expect(throws: refused) { try backend.close() }
            // A read inside the write sees the last commit, not this transaction.
            #expect(try backend.read { snapshot in try snapshot.get([1], in: Self.key) } == nil)
        }
        try backend.read { _ throws in
            #expect(throws: refused) { try backend.write { inner in try inner.put([3], [3], in: Self.key) } }
            #expect(throws: refused) { try backend.close() }
            // Reads nest.
            #expect(try backend.read { inner in try inner.get([1], in: Self.key) } == [1])
        }
        #expect(try backend.read { txn throws in try txn.entries(in: Self.key).map(\.key) } == [[1]])
        try backend.sync()
    }

    @Test func commitsWithoutAnyFsyncMode() throws {
        let fixture = try BackendFixture()
        do {
            let backend = try fixture.open(options: BackendOptions(commitSync: .never))
            try backend.write { txn in try txn.put([1], [1], in: Self.key) }
            try backend.sync()
        }
        let backend = try fixture.open()
        #expect(try backend.read { txn in try txn.get([1], in: Self.key) } == [1])
    }
}

// MARK: - Helpers

/// A database path in a fresh temporary directory, shaped like a member's
/// (`<data-dir>/member/snap/db`), removed with the directory.
struct BackendFixture {
    let directory: TemporaryDirectory
    let path: String

    init() throws {
        directory = try TemporaryDirectory()
        path = StorageLayout.backendPath(in: directory.path)
        #expect(path.hasSuffix("/member/snap/db"))
    }

    func open(buckets: [Bucket] = ["key", "meta"], options: BackendOptions = BackendOptions()) throws -> Backend {
        try Backend(path: path, buckets: buckets, options: options)
    }
}

/// etcd's revision key: 8-byte big-endian main revision, "_", 8-byte sub.
func revisionKey(_ main: Int, sub: Int = 0) -> [UInt8] {
    var key: [UInt8] = []
    for shift in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: main >> shift)) }
    key.append(UInt8(ascii: "_"))
    for shift in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: sub >> shift)) }
    return key
}

func decodeRevision(_ key: UnsafeRawBufferPointer) -> Int {
    key.prefix(8).reduce(0) { $0 << 8 | Int($1) }
}

/// A value unique to `i`, so a record under the wrong key is noticed.
func recordValue(_ i: Int, size: Int) -> [UInt8] {
    (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7 &+ i >> 8) }
}
