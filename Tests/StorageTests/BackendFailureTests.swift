import Dispatch
import Synchronization
import Testing

@testable import Storage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the backend does when things go wrong: a full map, bad files, bad
/// paths, a second owner. Always an error that names the file, never a
/// crash or a hang.
@Suite struct BackendFailureTests {
    static let key: Bucket = "key"
    /// Commits without fsync: these tests commit thousands of times, and
    /// on a busy disk fsyncs would time the disk, not the backend.
    static let tinyMap = BackendOptions(mapSize: 64 * 1024, commitSync: .never)

    @Test func aFullMapGrowsAndTheWriteIsRetried() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open(options: Self.tinyMap)
        #expect(backend.mapSize == Self.tinyMap.mapSize)
        // ~1.2 MB in one transaction: needs several doublings.
        var runs = 0
        try backend.write { txn throws in
            runs += 1
            for i in 0..<4_000 { try txn.put(revisionKey(i), recordValue(i, size: 300), in: Self.key) }
        }
        #expect(runs > 1, "the closure ran again after the map grew")
        #expect(backend.mapSize >= 1024 * 1024)
        // And across many small transactions.
        for i in 4_000..<8_000 {
            try backend.write { txn in try txn.put(revisionKey(i), recordValue(i, size: 300), in: Self.key) }
        }
        try backend.read { txn throws in
            #expect(try txn.count(in: Self.key) == 8_000)
            #expect(try txn.get(revisionKey(6_543), in: Self.key) == recordValue(6_543, size: 300))
        }
        // The grown size is kept in the file.
        try backend.close()
        let reopened = try fixture.open(options: Self.tinyMap)
        #expect(reopened.mapSize >= 2 * 1024 * 1024)
        #expect(try reopened.read { txn in try txn.count(in: Self.key) } == 8_000)
    }

    @Test func aMapFullErrorCaughtByTheClosureStillGrowsTheMap() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open(options: Self.tinyMap)
        try backend.write { txn throws in
            for i in 0..<2_000 {
                // Swallowing the error must not commit a half-written batch.
                do { try txn.put(revisionKey(i), recordValue(i, size: 300), in: Self.key) } catch {}
            }
        }
        #expect(try backend.read { txn in try txn.count(in: Self.key) } == 2_000)
    }

    @Test func growthStopsAtTheMaximumWithAClearError() throws {
        let fixture = try BackendFixture()
        let options = BackendOptions(mapSize: 64 * 1024, maximumMapSize: 256 * 1024)
        let backend = try fixture.open(options: options)
        try backend.write { txn in try txn.put([1], [1], in: Self.key) }
        #expect(throws: BackendError.full(path: fixture.path, mapSize: 256 * 1024)) {
            try backend.write { txn throws in
                for i in 0..<4_000 { try txn.put(revisionKey(i), recordValue(i, size: 300), in: Self.key) }
            }
        }
        // Nothing of the failed batch is there; the backend still works.
        try backend.write { txn in try txn.put([2], [2], in: Self.key) }
        #expect(try backend.read { txn in try txn.entries(in: Self.key).map(\.key) } == [[1], [2]])
    }

    @Test func readersRunSafelyWhileTheWriterGrowsTheMap() throws {
        // Growing the map unmaps the file and maps it again, elsewhere.
        // Without the exclusive lock around that, a reader in the middle of
        // a scan follows pointers into the old mapping and the test process
        // dies (a race, but it crashed 4 runs out of 4 when the lock was
        // taken out). Twelve fresh databases, each growing 16 KiB → 2 MiB
        // (7 remaps).
        for round in 0..<12 {
            let fixture = try BackendFixture()
            let backend = try fixture.open(options: BackendOptions(mapSize: 16 * 1024, commitSync: .never))
            let inconsistencies = Atomic<Int>(0)
            let failures = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: 3) { worker in
                do {
                    if worker == 0 {
                        for i in 0..<400 {
                            try backend.write { txn throws in
                                try txn.put(revisionKey(i), recordValue(i, size: 3_000), in: Self.key)
                                try txn.put(Array("last".utf8), revisionKey(i), in: "meta")
                            }
                        }
                    } else {
                        for _ in 0..<150 {
                            try backend.read { txn throws in
                                // A snapshot: "last" names the newest record, and every
                                // record up to it is there, whole.
                                var expected = 0
                                try txn.forEach(in: Self.key) { key, value in
                                    if decodeRevision(key) != expected || value.count != 3_000
                                        || value.first != recordValue(expected, size: 1).first {
                                        inconsistencies.add(1, ordering: .relaxed)
                                    }
                                    expected += 1
                                    return true
                                }
                                let last = try txn.get(Array("last".utf8), in: "meta")
                                if last != (expected == 0 ? nil : revisionKey(expected - 1)) {
                                    inconsistencies.add(1, ordering: .relaxed)
                                }
                            }
                        }
                    }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
            #expect(failures.load(ordering: .relaxed) == 0, "round \(round)")
            #expect(inconsistencies.load(ordering: .relaxed) == 0, "round \(round)")
            #expect(backend.mapSize >= 1024 * 1024)
            #expect(try backend.read { txn throws in try txn.count(in: Self.key) } == 400)
        }
    }

    @Test(arguments: [100, 4096, 65536])
    func aFileThatIsNotLMDBIsRefused(size: Int) throws {
        let fixture = try BackendFixture()
        var random = SeededRandom(seed: UInt64(size))
        try writeFile(fixture.path, (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) })
        #expect {
            try fixture.open()
        } throws: { error in
            guard case .notADatabase(let path, let code, _) = error as? BackendError else { return false }
            return path == fixture.path && code != 0
        }
        // The garbage is left as it was, for the operator to look at.
        #expect(try readFile(fixture.path).count == size)
    }

    @Test func aTruncatedDatabaseIsRefusedInsteadOfFaulting() throws {
        let fixture = try BackendFixture()
        do {
            let backend = try fixture.open()
            try backend.write { txn throws in
                for i in 0..<2_000 { try txn.put(revisionKey(i), recordValue(i, size: 300), in: Self.key) }
            }
            try backend.sync()
        }
        #expect(truncate(fixture.path, 3 * 4096) == 0)  // meta pages intact, data pages gone
        #expect {
            try fixture.open()
        } throws: { error in
            guard case .notADatabase(_, _, let message) = error as? BackendError else { return false }
            return message.contains("truncated")
        }
    }

    @Test func unusablePathsGiveAClearError() throws {
        let temp = try TemporaryDirectory()
        // The parent "directory" is a file.
        let file = Path.join(temp.path, "member")
        try writeFile(file, [1])
        #expect {
            try Backend(path: Path.join(file, "snap/db"), buckets: ["key"])
        } throws: { error in
            guard case .inaccessible = error as? BackendError else { return false }
            return true
        }
        // The path is a directory.
        let directory = Path.join(temp.path, "db")
        try POSIXFileSystem().createDirectory(directory)
        #expect {
            try Backend(path: directory, buckets: ["key"])
        } throws: { error in
            guard case .inaccessible(_, let code, _) = error as? BackendError else { return false }
            return code == EISDIR
        }
    }

    @Test(.enabled(if: geteuid() != 0, "root may write anywhere"))
    func aDirectoryWithoutWritePermissionGivesAClearError() throws {
        let temp = try TemporaryDirectory()
        let directory = Path.join(temp.path, "readonly")
        try POSIXFileSystem().createDirectory(directory)
        #expect(chmod(directory, 0o500) == 0)
        defer { chmod(directory, 0o700) }
        #expect(throws: BackendError.inaccessible(path: Path.join(directory, "db"), code: EACCES, message: "Permission denied")) {
            try Backend(path: Path.join(directory, "db"), buckets: ["key"])
        }
    }

    @Test func aSecondOwnerIsRefusedUntilTheFirstCloses() throws {
        let fixture = try BackendFixture()
        let first = try fixture.open()
        try first.write { txn in try txn.put([1], [1], in: Self.key) }
        #expect(throws: BackendError.inUse(path: fixture.path)) { try fixture.open() }
        // The refused attempt did not disturb the owner.
        try first.write { txn in try txn.put([2], [2], in: Self.key) }
        try first.close()
        let second = try fixture.open()
        #expect(try second.read { txn in try txn.count(in: Self.key) } == 2)
    }

    @Test func invalidOptionsAndBucketsAreRejectedBeforeTouchingDisk() throws {
        let fixture = try BackendFixture()
        let cases: [(BackendOptions, [Bucket])] = [
            (BackendOptions(mapSize: 0), ["key"]),
            (BackendOptions(mapSize: 1 << 20, maximumMapSize: 1 << 19), ["key"]),
            (BackendOptions(maxReaders: 0), ["key"]),
            (BackendOptions(), []),
            (BackendOptions(), ["key", "key"]),
            (BackendOptions(), [""]),
        ]
        for (options, buckets) in cases {
            #expect {
                try Backend(path: fixture.path, buckets: buckets, options: options)
            } throws: { error in
                guard case .invalidOptions = error as? BackendError else { return false }
                return true
            }
        }
        #expect(!POSIXFileSystem().exists(fixture.path))
    }

    @Test func errorsNameTheFileAndSayWhatToDo() {
        let corrupt = BackendError.notADatabase(path: "/d/member/snap/db", code: -30793, message: "MDB_INVALID: File is not an LMDB file")
        #expect(corrupt.description.contains("/d/member/snap/db"))
        #expect(corrupt.description.contains("MDB_INVALID"))
        #expect(corrupt.description.contains("etcdctl snapshot restore"))
        let diskFull = BackendError.lmdb(operation: "mdb_txn_commit", path: "/d/db", code: ENOSPC, message: "No space left on device")
        #expect(diskFull.description.contains("free space"))
        #expect(diskFull.code == ENOSPC)
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fs = POSIXFileSystem()
    if let parent = Path.ancestors(of: path).first { try fs.createDirectory(parent) }
    let file = try fs.open(path, mode: .truncate)
    defer { file.close() }
    try file.write(bytes, at: 0)
}

func readFile(_ path: String) throws -> [UInt8] {
    let file = try POSIXFileSystem().open(path, mode: .readOnly)
    defer { file.close() }
    return try file.readAll()
}
