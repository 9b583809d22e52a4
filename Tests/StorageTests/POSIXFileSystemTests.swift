import Testing

@testable import Storage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory under /tmp, removed (with its contents, two levels
/// deep, which is all these tests create) when the test ends.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/storage-tests-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard created else { throw StorageError.io(operation: "mkdtemp", path: "/tmp", errno: errno) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { removeTree(path, depth: 4) }

    private func removeTree(_ path: String, depth: Int) {
        let fs = POSIXFileSystem()
        if depth > 0, let names = try? fs.listDirectory(path) {
            for name in names { removeTree(Path.join(path, name), depth: depth - 1) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

@Suite struct POSIXFileSystemTests {
    @Test func fileOperations() throws {
        let temp = try TemporaryDirectory()
        let fs = POSIXFileSystem()
        let dir = Path.join(temp.path, "a/b")
        try fs.createDirectory(dir)
        try fs.createDirectory(dir)  // idempotent
        let path = Path.join(dir, "f")
        let file = try fs.open(path, mode: .truncate)
        try file.write([1, 2, 3], at: 0)
        try file.write([9], at: 5)
        try file.sync()
        #expect(try file.readAll() == [1, 2, 3, 0, 0, 9])
        try file.preallocate(size: 16)
        #expect(try file.size() == 16)
        try file.truncate(to: 2)
        #expect(try file.readAll() == [1, 2])
        #expect(try file.read(at: 1, count: 100) == [2])
        file.close()
        let reader = try fs.open(path, mode: .readOnly)
        #expect(try reader.readAll() == [1, 2])
        #expect(throws: StorageError.self) { try reader.write([3], at: 0) }
        reader.close()
        try fs.syncDirectory(dir)
        try fs.rename(path, to: Path.join(dir, "g"))
        #expect(try fs.listDirectory(dir) == ["g"])
        #expect(!fs.exists(path))
        try fs.remove(Path.join(dir, "g"))
        #expect(try fs.listDirectory(dir) == [])
        #expect(throws: StorageError.self) { try fs.open(path, mode: .existing) }
    }

    @Test func walRoundTripAndTornTailOnDisk() throws {
        let temp = try TemporaryDirectory()
        let fs = POSIXFileSystem()
        let dir = Path.join(temp.path, "member/wal")
        let options = WALOptions(segmentSize: 4096, maxPayloadSize: 1024)
        let wal = try WriteAheadLog.create(directory: dir, metadata: [1, 2], fileSystem: fs, options: options)
        var factory = RecordFactory(seed: 3)
        var written: [WALRecord] = []
        for _ in 0..<40 {
            let batch = factory.batch()
            try wal.append(batch)
            try wal.sync()
            written += batch
        }
        #expect(wal.segmentNames.count > 1)
        wal.close()

        // Garbage where the next record would go: a torn write.
        let last = Path.join(dir, try #require(try fs.listDirectory(dir).last))
        let contents = try WriteAheadLog.read(directory: dir, fileSystem: fs, options: options)
        let entriesBefore = contents.records.filter { $0.index != 0 }
        #expect(entriesBefore == written.filter { $0.index != 0 })
        let file = try fs.open(last, mode: .existing)
        let bytes = try file.readAll()
        let end = (bytes.lastIndex { $0 != 0 } ?? 0) / 8 * 8 + 8
        try file.write([0x53, 0x57, 2, 0, 200, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF], at: end)
        try file.sync()
        file.close()

        let (reopened, recovered) = try WriteAheadLog.open(directory: dir, fileSystem: fs, options: options)
        #expect(recovered.tornTail?.offset == end)
        #expect(recovered.records.filter { $0.index != 0 } == entriesBefore)
        let extra = WALRecord(type: 2, index: factory.nextIndex, payload: [4, 5, 6])
        try reopened.append([extra])
        try reopened.sync()
        reopened.close()
        let final = try WriteAheadLog.read(directory: dir, fileSystem: fs, options: options)
        #expect(final.tornTail == nil)
        #expect(final.records.filter { $0.index != 0 } == entriesBefore + [extra])
    }

    @Test func snapshotsOnDisk() throws {
        let temp = try TemporaryDirectory()
        let fs = POSIXFileSystem()
        let store = SnapshotStore(directory: Path.join(temp.path, "member/snap"), fileSystem: fs, retain: 2)
        for n in 1...3 {
            try store.save(index: UInt64(n), term: 1, payload: [UInt8](repeating: UInt8(n), count: 1000))
            try store.prune(current: WALSnapshot(index: UInt64(n), term: 1))
        }
        #expect(try store.list().count == 2)
        let loaded = try #require(try store.loadNewest().snapshot)
        #expect(loaded.index == 3 && loaded.payload == [UInt8](repeating: 3, count: 1000))
    }
}
