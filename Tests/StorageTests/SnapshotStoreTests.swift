import Testing

@testable import Storage

@Suite struct SnapshotStoreTests {
    static func payload(_ n: Int) -> [UInt8] { (0..<(50 + n * 13)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ n) } }

    @Test func saveAndLoadNewest() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs)
        #expect(try store.loadNewest().snapshot == nil)
        let name = try store.save(index: 10, term: 2, payload: Self.payload(1))
        #expect(name == "0000000000000002-000000000000000a.snap")
        try store.save(index: 20, term: 3, payload: Self.payload(2))
        fs.crash(.loseUnsynced)
        let loaded = try #require(try store.loadNewest().snapshot)
        #expect(loaded.index == 20 && loaded.term == 3 && loaded.payload == Self.payload(2))
        #expect(loaded.marker == WALSnapshot(index: 20, term: 3))
        // Only snapshots the WAL knows about, as etcd's LoadNewestAvailable.
        let older = try #require(try store.loadNewest(where: { $0.index == 10 }).snapshot)
        #expect(older.payload == Self.payload(1))
    }

    @Test func pruneKeepsTheCurrentAndNewestOlderOnes() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs, retain: 3)
        for n in 1...7 {
            try store.save(index: UInt64(n * 100), term: 1, payload: Self.payload(n))
            try store.prune(current: WALSnapshot(index: UInt64(n * 100), term: 1))
        }
        #expect(try store.list() == [700, 600, 500].map { SnapshotStore.fileName(index: $0, term: 1) })
    }

    @Test func pruneRemovesOrphansNewerThanTheCurrentSnapshot() throws {
        // Snapshots 800 and 900 were saved but a crash hit before their WAL
        // markers: the member restarted from 700.
        let fs = SimulatedFileSystem(seed: 1)
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs, retain: 2)
        for n in 5...9 { try store.save(index: UInt64(n * 100), term: 1, payload: Self.payload(n)) }
        let removed = try store.prune(current: WALSnapshot(index: 700, term: 1))
        #expect(Set(removed) == Set([500, 800, 900].map { SnapshotStore.fileName(index: $0, term: 1) }))
        #expect(try store.list() == [700, 600].map { SnapshotStore.fileName(index: $0, term: 1) })
    }

    @Test func corruptSnapshotIsSetAsideAndTheOlderOneLoads() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs)
        try store.save(index: 10, term: 1, payload: Self.payload(1))
        let newest = try store.save(index: 20, term: 1, payload: Self.payload(2))
        try fs.flipBit(in: Path.join(snapDirectory, newest), atByte: 40)
        let result = try store.loadNewest()
        #expect(result.snapshot?.index == 10)
        #expect(result.broken.map(\.file) == [newest])
        #expect(result.broken.first?.reason == "checksum mismatch")
        #expect(fs.exists(Path.join(snapDirectory, newest + ".broken")))
        #expect(try store.list() == [SnapshotStore.fileName(index: 10, term: 1)])
    }

    @Test func truncatedOrRenamedSnapshotsAreRejected() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs)
        let name = try store.save(index: 10, term: 1, payload: Self.payload(1))
        let path = Path.join(snapDirectory, name)
        let file = try fs.open(path, mode: .existing)
        try file.truncate(to: try file.size() - 1)
        // A valid file under another snapshot's name is refused too.
        try store.save(index: 5, term: 1, payload: Self.payload(3))
        let imposter = Path.join(snapDirectory, SnapshotStore.fileName(index: 30, term: 1))
        try fs.rename(Path.join(snapDirectory, SnapshotStore.fileName(index: 5, term: 1)), to: imposter)
        let result = try store.loadNewest()
        #expect(result.snapshot == nil)
        #expect(Set(result.broken.map(\.file)) == [name, SnapshotStore.fileName(index: 30, term: 1)])
    }

    /// Crash at every point of a save: afterwards the newest loadable
    /// snapshot is either the old one or the complete new one, never a
    /// half-written file, and once save returned it is the new one.
    @Test func everyCrashPointDuringSave() throws {
        func workload(_ fs: SimulatedFileSystem, saved: inout Int) throws(StorageError) {
            let store = SnapshotStore(directory: snapDirectory, fileSystem: fs, retain: 1)
            for n in 1...4 {
                try store.save(index: UInt64(n * 10), term: 1, payload: Self.payload(n))
                saved = n
                try store.prune(current: WALSnapshot(index: UInt64(n * 10), term: 1))
            }
        }
        let dry = SimulatedFileSystem(seed: 0)
        var dryCount = 0
        try workload(dry, saved: &dryCount)
        for policy in [SimulatedFileSystem.CrashPolicy.loseUnsynced, .keepUnsynced, .random] {
            for point in 0...dry.mutatingOperations {
                for seed in 0..<4 as Range<UInt64> {
                    let fs = SimulatedFileSystem(seed: seed &* 977 &+ UInt64(point))
                    fs.armCrash(afterOperations: point)
                    var saved = 0
                    do { try workload(fs, saved: &saved) } catch { #expect(error.isSimulatedCrash) }
                    fs.crash(policy)
                    let store = SnapshotStore(directory: snapDirectory, fileSystem: fs, retain: 1)
                    let result = try store.loadNewest()
                    let context = "policy \(policy) point \(point) seed \(seed)"
                    #expect(result.broken.isEmpty, "\(context): \(result.broken)")
                    guard let snapshot = result.snapshot else {
                        #expect(saved == 0, "\(context): lost a saved snapshot")
                        continue
                    }
                    let n = Int(snapshot.index / 10)
                    #expect(n >= saved && n <= saved + 1, "\(context)")
                    #expect(snapshot.payload == Self.payload(n), "\(context)")
                    #expect(try fs.listDirectory(snapDirectory).allSatisfy { !$0.hasSuffix(".tmp") }, "\(context)")
                }
            }
        }
    }
}
