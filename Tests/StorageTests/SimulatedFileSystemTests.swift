import Testing

@testable import Storage

@Suite struct SimulatedFileSystemTests {
    private func freshFile(_ fs: SimulatedFileSystem) throws -> any DurableFile {
        try fs.createDirectory("/d")
        try fs.syncDirectory("/")
        let file = try fs.open("/d/f", mode: .truncate)
        try fs.syncDirectory("/d")
        return file
    }

    @Test func syncedDataSurvivesUnsyncedDataIsLost() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let file = try freshFile(fs)
        try file.write([1, 2, 3], at: 0)
        try file.sync()
        try file.write([4, 5], at: 3)
        fs.crash(.loseUnsynced)
        #expect(fs.contents(of: "/d/f") == [1, 2, 3])
    }

    @Test func processCrashKeepsPageCache() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let file = try freshFile(fs)
        try file.write([1, 2, 3], at: 0)
        try fs.open("/d/g", mode: .truncate).write([9], at: 0)
        fs.crash(.keepUnsynced)
        #expect(fs.contents(of: "/d/f") == [1, 2, 3])
        #expect(fs.contents(of: "/d/g") == [9])
    }

    @Test func newNameNeedsDirectorySync() throws {
        let fs = SimulatedFileSystem(seed: 1)
        try fs.createDirectory("/d")
        try fs.syncDirectory("/")
        let file = try fs.open("/d/f", mode: .truncate)
        try file.write([1], at: 0)
        try file.sync()  // data durable, name not
        fs.crash(.loseUnsynced)
        #expect(!fs.exists("/d/f"))
        #expect(fs.exists("/d"))
    }

    @Test func lostDirectoryTakesItsSubtree() throws {
        let fs = SimulatedFileSystem(seed: 1)
        try fs.createDirectory("/a/b")
        try fs.syncDirectory("/a/b")
        try fs.syncDirectory("/a")  // "b" durable in "a", but "a" not in "/"
        fs.crash(.loseUnsynced)
        #expect(!fs.exists("/a"))
        #expect(throws: StorageError.self) { try fs.listDirectory("/a/b") }
    }

    @Test func renameIsAtomicAndNeedsDirectorySync() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let old = try freshFile(fs)
        try old.write([1], at: 0)
        try old.sync()
        let new = try fs.open("/d/f.tmp", mode: .truncate)
        try new.write([2], at: 0)
        try new.sync()
        try fs.rename("/d/f.tmp", to: "/d/f")
        fs.crash(.loseUnsynced)
        #expect(fs.contents(of: "/d/f") == [1])
        #expect(!fs.exists("/d/f.tmp"))
        // Random crashes: the name always holds one whole version.
        for seed in 0..<40 as Range<UInt64> {
            let fs = SimulatedFileSystem(seed: seed)
            let old = try freshFile(fs)
            try old.write([1], at: 0)
            try old.sync()
            let new = try fs.open("/d/f.tmp", mode: .truncate)
            try new.write([2], at: 0)
            try new.sync()
            try fs.rename("/d/f.tmp", to: "/d/f")
            fs.crash(.random)
            let contents = fs.contents(of: "/d/f")
            #expect(contents == [1] || contents == [2])
            if contents == [2] { #expect(!fs.exists("/d/f.tmp")) }
        }
    }

    @Test func randomCrashKeepsAPrefixOfUnsyncedWrites() throws {
        var sawTorn = false, sawGarbage = false
        for seed in 0..<200 as Range<UInt64> {
            let fs = SimulatedFileSystem(seed: seed)
            let file = try freshFile(fs)
            try file.write([UInt8](repeating: 7, count: 16), at: 0)
            try file.sync()
            let unsynced: [UInt8] = (1...32).map { UInt8($0) }
            try file.write(Array(unsynced[0..<16]), at: 16)
            try file.write(Array(unsynced[16...]), at: 32)
            fs.crash(.random)
            let data = try #require(fs.contents(of: "/d/f"))
            #expect(data.count >= 16 && data.count <= 48)
            #expect(Array(data[0..<16]) == [UInt8](repeating: 7, count: 16))
            let tail = Array(data[16...])
            var matching = 0
            while matching < tail.count && tail[matching] == unsynced[matching] { matching += 1 }
            if matching < tail.count { sawGarbage = true }
            if tail.count % 16 != 0 { sawTorn = true }
        }
        #expect(sawTorn)
        #expect(sawGarbage)
    }

    @Test func crashPointStopsTheMachineUntilCrash() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let file = try freshFile(fs)
        fs.armCrash(afterOperations: 1)
        try file.write([1], at: 0)
        #expect(throws: StorageError.simulatedCrash(operation: "fsync", path: "/d/f")) { try file.sync() }
        #expect(fs.isDown)
        #expect(throws: StorageError.self) { try file.read(at: 0, count: 1) }
        #expect(throws: StorageError.self) { try fs.listDirectory("/d") }
        fs.crash(.loseUnsynced)
        #expect(!fs.isDown)
        #expect(fs.contents(of: "/d/f") == [])
        #expect(throws: StorageError.self) { try file.read(at: 0, count: 1) }  // stale handle
    }

    @Test func sameSeedSameOutcome() throws {
        func run(_ seed: UInt64) throws -> [UInt8]? {
            let fs = SimulatedFileSystem(seed: seed)
            let file = try freshFile(fs)
            for i in 0..<10 { try file.write([UInt8](repeating: UInt8(i), count: 13), at: i * 13) }
            fs.crash(.random)
            return fs.contents(of: "/d/f")
        }
        for seed in 0..<20 as Range<UInt64> { #expect(try run(seed) == run(seed)) }
    }

    @Test func truncateAndPreallocate() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let file = try freshFile(fs)
        try file.write([1, 2, 3, 4], at: 0)
        try file.truncate(to: 2)
        try file.preallocate(size: 6)
        #expect(try file.readAll() == [1, 2, 0, 0, 0, 0])
        try file.write([9], at: 8)
        #expect(try file.readAll() == [1, 2, 0, 0, 0, 0, 0, 0, 9])
    }
}

@Suite struct SimulatedReadOnlyTests {
    @Test func readOnlyHandlesRefuseChanges() throws {
        let fs = SimulatedFileSystem(seed: 1)
        try fs.open("/f", mode: .truncate).write([1], at: 0)
        let file = try fs.open("/f", mode: .readOnly)
        #expect(try file.readAll() == [1])
        #expect(throws: StorageError.self) { try file.write([2], at: 0) }
        #expect(throws: StorageError.self) { try file.sync() }
        #expect(throws: StorageError.self) { try file.truncate(to: 0) }
    }
}
