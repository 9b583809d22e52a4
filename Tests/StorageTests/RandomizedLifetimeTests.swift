import Testing

@testable import Storage

/// Many lifetimes of a member's storage with random work (group commits,
/// unsynced appends, snapshots with marker, release and prune), a crash at a
/// random instant with a random policy, and the documented startup. After
/// every restart: the loaded snapshot is at least the newest one whose
/// marker was synced, every acknowledged entry above it is present in
/// order, and nothing appears that was not appended.
@Suite struct RandomizedLifetimeTests {
    struct Model {
        var snapshotIndex: UInt64 = 0
        var markedIndex: UInt64 = 0      // newest snapshot whose marker sync returned
        var entries: [WALRecord] = []   // attempted entries above snapshotIndex, in order
        var acknowledged = 0             // prefix of `entries` whose sync returned
        var serial: UInt64 = 0
        var nextIndex: UInt64 { (entries.last?.index ?? snapshotIndex) + 1 }

        mutating func entry(_ random: inout SeededRandom) -> WALRecord {
            serial += 1
            var payload: [UInt8] = []
            withUnsafeBytes(of: serial.littleEndian) { payload.append(contentsOf: $0) }
            payload += (0..<Int.random(in: 0...160, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let record = WALRecord(type: 2, index: nextIndex, payload: payload)
            entries.append(record)
            return record
        }
    }

    static let policies: [SimulatedFileSystem.CrashPolicy] = [.loseUnsynced, .keepUnsynced, .random, .randomSectors]

    static func lifetime(
        _ fs: SimulatedFileSystem, _ model: inout Model, _ random: inout SeededRandom
    ) throws(StorageError) {
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs, retain: 2)
        let wal: WriteAheadLog
        if WriteAheadLog.exists(directory: walDirectory, fileSystem: fs) {
            let markers = Set(try WriteAheadLog.snapshotMarkers(directory: walDirectory, fileSystem: fs, options: smallSegments))
            let snapshot = try store.loadNewest(where: markers.contains).snapshot
            wal = try WriteAheadLog.open(
                directory: walDirectory, fileSystem: fs, options: smallSegments, from: snapshot?.marker).log
            if let snapshot { try store.prune(current: snapshot.marker) }
        } else {
            wal = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs, options: smallSegments)
        }
        for _ in 0..<40 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<7:
                let batch = (0..<Int.random(in: 1...5, using: &random)).map { _ in model.entry(&random) }
                try wal.append(batch)
                try wal.sync()
                model.acknowledged = model.entries.count
            case 7:
                try wal.append([model.entry(&random)])
            default:
                // Raft snapshots only move forward.
                let candidates = model.entries[0..<model.acknowledged].filter { $0.index >= model.markedIndex }
                guard let index = candidates.randomElement(using: &random)?.index else { continue }
                let marker = WALSnapshot(index: index, term: 1)
                try store.save(index: index, term: 1, payload: Array("at \(index)".utf8))
                try wal.appendSnapshotMarker(marker)
                try wal.sync()
                model.acknowledged = model.entries.count
                model.markedIndex = max(model.markedIndex, index)
                try wal.releaseSegments(coveredBy: index)
                try store.prune(current: marker)
            }
        }
    }

    /// Startup after a crash; checks the invariant and returns the model of
    /// what is now durable.
    static func restart(_ fs: SimulatedFileSystem, _ model: Model, _ context: String) throws -> Model {
        guard WriteAheadLog.exists(directory: walDirectory, fileSystem: fs) else {
            #expect(model.acknowledged == 0 && model.markedIndex == 0, "\(context): log vanished")
            return Model(serial: model.serial)
        }
        let store = SnapshotStore(directory: snapDirectory, fileSystem: fs, retain: 2)
        let markers = Set(try WriteAheadLog.snapshotMarkers(directory: walDirectory, fileSystem: fs, options: smallSegments))
        let snapshot = try store.loadNewest(where: markers.contains).snapshot
        let contents = try WriteAheadLog.read(
            directory: walDirectory, fileSystem: fs, options: smallSegments, from: snapshot?.marker)
        let floor = snapshot?.index ?? 0
        #expect(floor >= model.markedIndex, "\(context): restarted from an older snapshot")
        #expect(floor >= model.snapshotIndex, "\(context)")
        let entries = contents.records.filter { $0.index > floor }
        let acknowledged = model.entries[0..<model.acknowledged].filter { $0.index > floor }
        expectPrefix(Array(acknowledged), of: entries, "\(context): lost acknowledged entries")
        expectPrefix(entries, of: model.entries.filter { $0.index > floor }, "\(context): entries never appended")
        return Model(snapshotIndex: floor, markedIndex: floor, entries: entries, acknowledged: entries.count, serial: model.serial)
    }

    @Test(arguments: 0..<4)
    func lifetimes(block: Int) throws {
        for seed in UInt64(block * 100)..<UInt64(block * 100 + 100) {
            var random = SeededRandom(seed: seed)
            let fs = SimulatedFileSystem(seed: seed)
            var model = Model()
            for round in 0..<8 {
                fs.armCrash(afterOperations: Int.random(in: 0..<120, using: &random))
                do { try Self.lifetime(fs, &model, &random) } catch { #expect(error.isSimulatedCrash, "\(error)") }
                let policy = Self.policies[Int.random(in: 0..<Self.policies.count, using: &random)]
                fs.crash(policy)
                model = try Self.restart(fs, model, "seed \(seed) round \(round) \(policy)")
            }
        }
    }
}
