import Testing

@testable import Storage

/// The server's protocol, as Docs/storage.md describes it, under crashes:
/// Ready loop (append + sync), snapshot (save file, marker + sync, release
/// WAL segments, prune snapshot files), and startup (read markers, load the
/// newest snapshot the WAL knows, open the WAL from it). Whatever the crash
/// point, the snapshot plus the WAL records after it cover every
/// acknowledged entry, and show no entry that was never appended.
@Suite struct StartupProtocolTests {
    struct Run {
        var attempted: [WALRecord] = []
        var acknowledged = 0
        var markedSnapshot: WALSnapshot?  // newest snapshot whose marker sync returned
    }

    static func workload(_ fs: SimulatedFileSystem, _ run: inout Run) throws(StorageError) {
        var factory = RecordFactory(seed: 21)
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs, retain: 2)
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs, options: smallSegments)
        for round in 1...3 {
            for _ in 0..<6 {
                let batch = factory.batch()
                run.attempted += batch
                try wal.append(batch)
                try wal.sync()
                run.acknowledged = run.attempted.count
            }
            let snapshot = WALSnapshot(index: factory.nextIndex - 3, term: UInt64(round))
            try store.save(index: snapshot.index, term: snapshot.term, payload: Array("state at \(snapshot.index)".utf8))
            try wal.appendSnapshotMarker(snapshot)
            try wal.sync()
            run.markedSnapshot = snapshot
            try wal.releaseSegments(coveredBy: snapshot.index)
            try store.prune(current: snapshot)
        }
    }

    static func startupAndCheck(_ fs: SimulatedFileSystem, _ run: Run, _ context: String) throws {
        guard WriteAheadLog.exists(directory: walDirectory, fileSystem: fs) else {
            #expect(run.acknowledged == 0, "\(context): log vanished")
            return
        }
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs, retain: 2)
        let markers = Set(try WriteAheadLog.snapshotMarkers(directory: walDirectory, fileSystem: fs, options: smallSegments))
        let loaded = try store.loadNewest(where: markers.contains)
        #expect(loaded.broken.isEmpty, "\(context)")
        let snapshot = loaded.snapshot
        let (_, contents) = try WriteAheadLog.open(
            directory: walDirectory, fileSystem: fs, options: smallSegments, from: snapshot?.marker)
        if let snapshot {
            #expect(snapshot.payload == Array("state at \(snapshot.index)".utf8), "\(context)")
            try store.prune(current: snapshot.marker)
        }
        if let marked = run.markedSnapshot {
            #expect((snapshot?.index ?? 0) >= marked.index, "\(context): restarted from an older snapshot")
        }
        let floor = snapshot?.index ?? 0
        let entries = contents.records.filter { $0.index != 0 }
        let expectedEntries = run.attempted.filter { $0.index > floor }
        let acknowledgedEntries = run.attempted[0..<run.acknowledged].filter { $0.index > floor }
        expectPrefix(Array(acknowledgedEntries), of: entries, "\(context): lost acknowledged entries")
        expectPrefix(entries, of: expectedEntries, "\(context): entries never appended")
    }

    @Test func everyCrashPoint() throws {
        let dry = SimulatedFileSystem(seed: 0)
        var dryRun = Run()
        try Self.workload(dry, &dryRun)
        #expect(dry.trace.contains { $0.contains(".snap") && $0.hasPrefix("unlink") })
        for point in 0...dry.mutatingOperations {
            for policy in [SimulatedFileSystem.CrashPolicy.loseUnsynced, .random, .randomSectors] {
                for seed in 0..<2 as Range<UInt64> {
                    let fs = SimulatedFileSystem(seed: seed &* 7919 &+ UInt64(point))
                    fs.armCrash(afterOperations: point)
                    var run = Run()
                    do { try Self.workload(fs, &run) } catch { #expect(error.isSimulatedCrash, "\(error)") }
                    fs.crash(policy)
                    try Self.startupAndCheck(fs, run, "point \(point) \(policy) seed \(seed)")
                }
            }
        }
    }
}
