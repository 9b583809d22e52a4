import Testing

@testable import Storage

/// Crash consistency of the WAL on the simulated file system: whatever
/// instant the power fails, reopening shows every acknowledged record, in
/// order, followed by nothing that was not appended.
@Suite struct WALCrashTests {
    /// The records a reopened log shows, without the state records the WAL
    /// repeats at the start of each segment (recognised by serial number).
    static func withoutCarriedState(_ records: [WALRecord]) -> [WALRecord] {
        var seen = Set<[UInt8]>()
        return records.filter { seen.insert(Array($0.payload.prefix(4))).inserted }
    }

    struct Progress {
        var attempted: [WALRecord] = []
        var acknowledged = 0
        var created = false
    }

    /// Creates a log and appends `batches` group-committed batches.
    static func workload(
        _ fs: SimulatedFileSystem, seed: UInt64, batches: Int, progress: inout Progress
    ) throws(StorageError) {
        var factory = RecordFactory(seed: seed)
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [7], fileSystem: fs, options: smallSegments)
        progress.created = true
        for _ in 0..<batches {
            let batch = factory.batch()
            progress.attempted += batch
            try wal.append(batch)
            try wal.sync()
            progress.acknowledged = progress.attempted.count
        }
    }

    /// Reopens after a crash and checks the recovery invariant; then checks
    /// the log still accepts appends that survive another power loss.
    struct Outcome {
        var tornTails = 0
        var outOfOrderTails = 0
        var unacknowledgedSurvivors = 0
        var missingLogs = 0
    }

    static func verifyRecovery(
        _ fs: SimulatedFileSystem, _ progress: Progress, context: String, outcome: inout Outcome
    ) throws {
        guard WriteAheadLog.exists(directory: walDirectory, fileSystem: fs) else {
            #expect(!progress.created, "log vanished after create returned (\(context))")
            outcome.missingLogs += 1
            return
        }
        let (wal, contents) = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: smallSegments)
        let recovered = withoutCarriedState(contents.records)
        #expect(contents.metadata == [7], "\(context)")
        #expect(recovered.count >= progress.acknowledged, "lost acknowledged records (\(context))")
        expectPrefix(recovered, of: progress.attempted, "garbage or reordered records (\(context))")
        if let tail = contents.tornTail {
            outcome.tornTails += 1
            if tail.discardedLaterRecords { outcome.outOfOrderTails += 1 }
        }
        if recovered.count > progress.acknowledged { outcome.unacknowledgedSurvivors += 1 }

        let extra = WALRecord(type: 9, index: 0, payload: Array("after-\(context)".utf8))
        try wal.append([extra])
        try wal.sync()
        fs.crash(.loseUnsynced)
        let again = try WriteAheadLog.read(directory: walDirectory, fileSystem: fs, options: smallSegments)
        #expect(again.tornTail == nil, "\(context)")
        #expect(withoutCarriedState(again.records) == recovered + [extra], "\(context)")
    }

    @discardableResult
    static func everyCrashPoint(policy: SimulatedFileSystem.CrashPolicy, seeds: Range<UInt64>) throws -> Outcome {
        var outcome = Outcome()
        let dry = SimulatedFileSystem(seed: 0)
        var dryProgress = Progress()
        try workload(dry, seed: 11, batches: 14, progress: &dryProgress)
        let total = dry.mutatingOperations
        #expect(dry.trace.filter { $0.hasPrefix("rename") }.count >= 4, "workload should roll over segments")

        for seed in seeds {
            for point in 0...total {
                let fs = SimulatedFileSystem(seed: seed &* 1000 &+ UInt64(point))
                fs.armCrash(afterOperations: point)
                var progress = Progress()
                do {
                    try workload(fs, seed: 11, batches: 14, progress: &progress)
                } catch {
                    #expect(error.isSimulatedCrash, "\(error)")
                }
                fs.crash(policy)
                try verifyRecovery(
                    fs, progress, context: "policy \(policy) seed \(seed) crash after \(point) ops", outcome: &outcome)
            }
        }
        return outcome
    }

    @Test func everyCrashPointLosingAllUnsyncedState() throws {
        let outcome = try Self.everyCrashPoint(policy: .loseUnsynced, seeds: 0..<1)
        // Records can survive without acknowledgement (synced, then the
        // crash hit the segment rollover before sync returned); torn never.
        #expect(outcome.tornTails == 0 && outcome.missingLogs > 0)
    }

    @Test func everyCrashPointKeepingThePageCache() throws {
        let outcome = try Self.everyCrashPoint(policy: .keepUnsynced, seeds: 0..<1)
        #expect(outcome.unacknowledgedSurvivors > 0)
    }

    @Test func everyCrashPointWithRandomTornWrites() throws {
        let outcome = try Self.everyCrashPoint(policy: .random, seeds: 0..<8)
        #expect(outcome.tornTails > 20 && outcome.unacknowledgedSurvivors > 20)
    }

    @Test func everyCrashPointWithOutOfOrderWriteback() throws {
        let outcome = try Self.everyCrashPoint(policy: .randomSectors, seeds: 0..<8)
        #expect(outcome.tornTails > 20 && outcome.unacknowledgedSurvivors > 20)
        #expect(outcome.outOfOrderTails > 5, "\(outcome)")
    }

    /// Every crash point inside one rollover, under each policy: the log
    /// reopens with no half-made segment, and a leftover `.tmp` is removed.
    @Test func crashDuringRolloverLeavesNoHalfMadeSegment() throws {
        func workload(_ fs: SimulatedFileSystem, acknowledged: inout Int) throws(StorageError) {
            let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs, options: smallSegments)
            for i in 1...8 {
                try wal.append([WALRecord(type: 2, index: UInt64(i), payload: [UInt8](repeating: UInt8(i), count: 100))])
                try wal.sync()
                acknowledged = i
            }
        }
        let dry = SimulatedFileSystem(seed: 0)
        var count = 0
        try workload(dry, acknowledged: &count)
        // trace[n] is the operation a crash armed after n operations stops;
        // the rollover runs from the truncate of the full segment to the
        // directory sync after the rename.
        let trace = dry.trace
        let firstCut = try #require(trace.firstIndex { $0.hasPrefix("truncate") })
        let renamed = try #require(trace[firstCut...].firstIndex { $0.hasPrefix("rename") })
        #expect(trace[renamed + 1].hasPrefix("fsync directory"))
        var sawLeftover = false
        for point in firstCut...(renamed + 2) {
            for policy in [SimulatedFileSystem.CrashPolicy.loseUnsynced, .keepUnsynced, .random, .randomSectors] {
                let fs = SimulatedFileSystem(seed: UInt64(point))
                fs.armCrash(afterOperations: point)
                var acknowledged = 0
                do { try workload(fs, acknowledged: &acknowledged) } catch { #expect(error.isSimulatedCrash) }
                fs.crash(policy)
                if try fs.listDirectory(walDirectory).contains(where: { $0.hasSuffix(".tmp") }) { sawLeftover = true }
                let (wal, contents) = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: smallSegments)
                #expect(try fs.listDirectory(walDirectory) == wal.segmentNames, "point \(point) \(policy)")
                #expect(contents.records.count >= acknowledged, "point \(point) \(policy)")
                #expect(contents.records.map(\.index) == (0..<contents.records.count).map { UInt64($0 + 1) })
            }
        }
        #expect(sawLeftover)
    }

    /// Large unsynced batches spanning many sectors, written back in any
    /// order: the acknowledged prefix survives, nothing else is invented.
    @Test func largeUnsyncedBatchesWrittenBackOutOfOrder() throws {
        let options = WALOptions(segmentSize: 64 * 1024, maxPayloadSize: 4096)
        var laterDiscarded = 0
        for seed in 0..<150 as Range<UInt64> {
            let fs = SimulatedFileSystem(seed: seed)
            var factory = RecordFactory(seed: seed)
            let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs, options: options)
            var acknowledged: [WALRecord] = []
            for _ in 0..<3 {
                let batch = (0..<20).map { _ in factory.next(maxPayload: 300) }
                try wal.append(batch)
                try wal.sync()
                acknowledged += batch
            }
            let unsynced = (0..<20).map { _ in factory.next(maxPayload: 300) }
            for record in unsynced { try wal.append([record]) }
            fs.crash(.randomSectors)
            let (_, contents) = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: options)
            expectPrefix(acknowledged, of: contents.records, "seed \(seed)")
            expectPrefix(contents.records, of: acknowledged + unsynced, "seed \(seed)")
            if contents.tornTail?.discardedLaterRecords == true { laterDiscarded += 1 }
        }
        #expect(laterDiscarded > 50)
    }

    /// Repeated crashes at random points across several lifetimes of a log.
    @Test func repeatedRandomCrashes() throws {
        for seed in 0..<40 as Range<UInt64> {
            var random = SeededRandom(seed: seed)
            let fs = SimulatedFileSystem(seed: seed)
            var factory = RecordFactory(seed: seed)
            var durable: [WALRecord] = []  // what the last reopen showed plus acknowledged since
            var attempted: [WALRecord] = []
            let policy: SimulatedFileSystem.CrashPolicy = seed % 2 == 0 ? .random : .randomSectors
            for round in 0..<6 {
                fs.armCrash(afterOperations: Int.random(in: 0..<60, using: &random))
                do {
                    let wal: WriteAheadLog
                    if WriteAheadLog.exists(directory: walDirectory, fileSystem: fs) {
                        wal = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: smallSegments).log
                    } else {
                        #expect(durable.isEmpty, "seed \(seed) round \(round): log vanished")
                        wal = try WriteAheadLog.create(
                            directory: walDirectory, metadata: [7], fileSystem: fs, options: smallSegments)
                    }
                    for _ in 0..<50 {
                        let batch = factory.batch()
                        attempted += batch
                        try wal.append(batch)
                        try wal.sync()
                        durable = attempted
                    }
                } catch {
                    #expect(error.isSimulatedCrash, "\(error)")
                }
                fs.crash(policy)
                guard WriteAheadLog.exists(directory: walDirectory, fileSystem: fs) else {
                    #expect(durable.isEmpty, "seed \(seed) round \(round): log vanished")
                    continue
                }
                let contents = try WriteAheadLog.read(directory: walDirectory, fileSystem: fs, options: smallSegments)
                let recovered = Self.withoutCarriedState(contents.records)
                expectPrefix(durable, of: recovered, "seed \(seed) round \(round): lost acknowledged")
                expectPrefix(recovered, of: attempted, "seed \(seed) round \(round): garbage")
                // What was recovered is now the history later rounds build on.
                durable = recovered
                attempted = recovered
            }
        }
    }

    /// Crash points around snapshot markers and segment release: opening
    /// from the newest acknowledged marker always works and shows every
    /// acknowledged entry after it plus the newest acknowledged state.
    @Test func crashPointsAroundRelease() throws {
        struct Run {
            var attempted: [WALRecord] = []
            var acknowledged = 0
            var markers: [WALSnapshot] = []  // acknowledged markers
        }
        func workload(_ fs: SimulatedFileSystem, _ run: inout Run) throws(StorageError) {
            var factory = RecordFactory(seed: 5)
            let wal = try WriteAheadLog.create(
                directory: walDirectory, metadata: [], fileSystem: fs, options: smallSegments)
            for round in 1...4 {
                for _ in 0..<8 {
                    let batch = factory.batch()
                    run.attempted += batch
                    try wal.append(batch)
                    try wal.sync()
                    run.acknowledged = run.attempted.count
                }
                let marker = WALSnapshot(index: factory.nextIndex - 3, term: UInt64(round))
                try wal.appendSnapshotMarker(marker)
                try wal.sync()
                run.markers.append(marker)
                try wal.releaseSegments(coveredBy: marker.index)
            }
        }
        let dry = SimulatedFileSystem(seed: 0)
        var dryRun = Run()
        try workload(dry, &dryRun)
        #expect(dry.trace.contains { $0.hasPrefix("unlink") })

        for point in 0...dry.mutatingOperations {
            for policy in [SimulatedFileSystem.CrashPolicy.loseUnsynced, .random, .randomSectors] {
                let fs = SimulatedFileSystem(seed: UInt64(point))
                fs.armCrash(afterOperations: point)
                var run = Run()
                do { try workload(fs, &run) } catch { #expect(error.isSimulatedCrash) }
                fs.crash(policy)
                guard WriteAheadLog.exists(directory: walDirectory, fileSystem: fs) else {
                    #expect(run.acknowledged == 0)
                    continue
                }
                let marker = run.markers.last
                let contents = try WriteAheadLog.read(
                    directory: walDirectory, fileSystem: fs, options: smallSegments, from: marker)
                let floor = marker?.index ?? 0
                let expected = run.attempted.filter { $0.index > floor }
                let acknowledged = Array(run.attempted[0..<run.acknowledged])
                let entries = contents.records.filter { $0.index != 0 }
                expectPrefix(acknowledged.filter { $0.index > floor }, of: entries, "crash after \(point)")
                expectPrefix(entries, of: expected, "crash after \(point)")
                let states = contents.records.filter { $0.index == 0 }
                if let newestAcknowledged = acknowledged.last(where: { $0.index == 0 }) {
                    let newest = try #require(states.last)
                    let serial = { (r: WALRecord) in r.payload.prefix(4).reversed().reduce(0) { $0 << 8 | Int($1) } }
                    #expect(serial(newest) >= serial(newestAcknowledged), "crash after \(point): stale state")
                }
            }
        }
    }
}
