import Testing

@testable import Storage

@Suite struct WALTests {
    @Test func createAppendSyncReopen() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [1, 2, 3], fileSystem: fs)
        #expect(wal.segmentNames == ["0000000000000000-0000000000000000.wal"])
        var factory = RecordFactory(seed: 1)
        var written: [WALRecord] = []
        for _ in 0..<10 {
            let batch = factory.batch()
            try wal.append(batch)
            try wal.sync()
            written += batch
        }
        wal.close()
        fs.crash(.loseUnsynced)
        let (reopened, contents) = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs)
        #expect(contents.metadata == [1, 2, 3])
        #expect(contents.records == written)
        #expect(contents.tornTail == nil)
        // Appending continues the chain.
        let more = factory.batch()
        try reopened.append(more)
        try reopened.sync()
        #expect(try WriteAheadLog.read(directory: walDirectory, fileSystem: fs).records == written + more)
    }

    @Test func createSurvivesPowerLossOnceReturned() throws {
        let fs = SimulatedFileSystem(seed: 1)
        _ = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs)
        fs.crash(.loseUnsynced)
        #expect(WriteAheadLog.exists(directory: walDirectory, fileSystem: fs))
        #expect(try WriteAheadLog.read(directory: walDirectory, fileSystem: fs).records == [])
    }

    @Test func createRefusesAnExistingLog() throws {
        let fs = SimulatedFileSystem(seed: 1)
        _ = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs)
        #expect(throws: StorageError.walAlreadyExists(directory: walDirectory)) {
            try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs)
        }
        #expect(throws: StorageError.walNotFound(directory: "/data")) {
            try WriteAheadLog.open(directory: "/data", fileSystem: fs)
        }
    }

    @Test func groupCommitIsOneFsyncPerSync() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs)
        var factory = RecordFactory(seed: 2)
        let before = fs.trace.count
        for _ in 0..<20 { try wal.append([factory.next()]) }
        try wal.sync()
        let operations = fs.trace[before...]
        #expect(operations.filter { $0.hasPrefix("fsync") }.count == 1)
        #expect(operations.filter { $0.hasPrefix("write") }.count == 20)
        try wal.sync()  // nothing new: no fsync
        try wal.append([])
        try wal.sync()
        #expect(fs.trace[before...].filter { $0.hasPrefix("fsync") }.count == 1)
    }

    @Test func rejectsReservedTypesAndOversizedPayloads() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs, options: smallSegments)
        #expect(throws: StorageError.self) { try wal.append([WALRecord(type: 0xF0, index: 0, payload: [])]) }
        #expect(throws: StorageError.self) {
            try wal.append([WALRecord(type: 1, index: 1, payload: [UInt8](repeating: 0, count: 5000))])
        }
        // Rejected appends wrote nothing and the log stays usable.
        try wal.append([WALRecord(type: 1, index: 1, payload: [])])
        try wal.sync()
        #expect(try WriteAheadLog.read(directory: walDirectory, fileSystem: fs).records.count == 1)
    }

    @Test func zeroLengthAndZeroByteRecordsRoundTrip() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs)
        let records = [
            WALRecord(type: 0, index: 0, payload: []),
            WALRecord(type: 0, index: 1, payload: [0, 0, 0, 0, 0, 0, 0, 0, 0]),
            WALRecord(type: WALRecord.maxType, index: UInt64.max, payload: [0]),
        ]
        try wal.append(records)
        try wal.sync()
        fs.crash(.loseUnsynced)
        #expect(try WriteAheadLog.open(directory: walDirectory, fileSystem: fs).contents.records == records)
    }

    @Test func segmentsRollOverWithEtcdNames() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let wal = try WriteAheadLog.create(
            directory: walDirectory, metadata: [9], fileSystem: fs, options: smallSegments)
        var factory = RecordFactory(seed: 3)
        var written: [WALRecord] = []
        for _ in 0..<40 {
            let batch = factory.batch()
            try wal.append(batch)
            try wal.sync()
            written += batch
        }
        #expect(wal.segmentNames.count > 5)
        let names = try fs.listDirectory(walDirectory)
        #expect(names == wal.segmentNames)
        for (sequence, name) in names.enumerated() {
            #expect(name.hasPrefix(Hex.pad16(UInt64(sequence)) + "-"))
        }
        // Full segments were trimmed; the active one is preallocated.
        for name in names.dropLast() {
            let size = try #require(fs.contents(of: Path.join(walDirectory, name))).count
            #expect(size >= smallSegments.segmentSize && size % 8 == 0)
        }
        fs.crash(.loseUnsynced)
        let contents = try WriteAheadLog.read(directory: walDirectory, fileSystem: fs, options: smallSegments)
        #expect(contents.metadata == [9])
        // State records are repeated at the start of each new segment.
        let entries = contents.records.filter { $0.index != 0 }
        #expect(entries == written.filter { $0.index != 0 })
        #expect(contents.records.filter { $0.index == 0 }.last == written.filter { $0.index == 0 }.last)
    }

    @Test func snapshotMarkersFilterAndRelease() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let wal = try WriteAheadLog.create(
            directory: walDirectory, metadata: [], fileSystem: fs, options: smallSegments)
        var factory = RecordFactory(seed: 4)
        var written: [WALRecord] = []
        for _ in 0..<30 {
            let batch = factory.batch()
            try wal.append(batch)
            written += batch
            try wal.sync()
        }
        let snapshot = WALSnapshot(index: factory.nextIndex - 5, term: 2)
        try wal.appendSnapshotMarker(snapshot)
        try wal.sync()
        for _ in 0..<10 {
            let batch = factory.batch()
            try wal.append(batch)
            written += batch
            try wal.sync()
        }
        let segmentsBefore = wal.segmentNames
        let removed = try wal.releaseSegments(coveredBy: snapshot.index)
        #expect(!removed.isEmpty)
        #expect(removed + wal.segmentNames == segmentsBefore)
        fs.crash(.loseUnsynced)

        let (_, contents) = try WriteAheadLog.open(
            directory: walDirectory, fileSystem: fs, options: smallSegments, from: snapshot)
        #expect(contents.snapshots.contains(snapshot))
        #expect(contents.records.filter { $0.index != 0 } == written.filter { $0.index > snapshot.index })
        #expect(contents.records.filter { $0.index == 0 }.last == written.filter { $0.index == 0 }.last)
        // Without a snapshot the released log is incomplete: refused.
        do {
            _ = try WriteAheadLog.read(directory: walDirectory, fileSystem: fs, options: smallSegments)
            Issue.record("read a released log without a snapshot")
        } catch {
            guard case .snapshotRequired = error else { Issue.record("\(error)"); return }
        }
        #expect(throws: StorageError.snapshotMarkerNotFound(index: 3, term: 1)) {
            try WriteAheadLog.read(
                directory: walDirectory, fileSystem: fs, options: smallSegments,
                from: WALSnapshot(index: 3, term: 1))
        }
    }

    @Test func releaseKeepsTheSegmentHoldingAMarkerPastTheLog() throws {
        // A follower installs a snapshot far beyond its log: later segments
        // must be named past it so release never removes the marker.
        let fs = SimulatedFileSystem(seed: 1)
        let wal = try WriteAheadLog.create(
            directory: walDirectory, metadata: [], fileSystem: fs, options: smallSegments)
        try wal.append([WALRecord(type: 2, index: 1, payload: [1])])
        let snapshot = WALSnapshot(index: 1000, term: 5)
        try wal.appendSnapshotMarker(snapshot)
        try wal.sync()
        for index in 1001...1040 as ClosedRange<UInt64> {
            try wal.append([WALRecord(type: 2, index: index, payload: [UInt8](repeating: 1, count: 40))])
            try wal.sync()
        }
        try wal.releaseSegments(coveredBy: 1000)
        let contents = try WriteAheadLog.read(
            directory: walDirectory, fileSystem: fs, options: smallSegments, from: snapshot)
        #expect(contents.records.map(\.index) == Array(1001...1040))
    }

    @Test func failedWALRefusesFurtherWork() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs)
        try wal.append([WALRecord(type: 1, index: 1, payload: [1])])
        fs.armCrash(afterOperations: 0)
        #expect(throws: StorageError.self) { try wal.sync() }
        fs.crash(.keepUnsynced)
        do {
            try wal.append([WALRecord(type: 1, index: 2, payload: [2])])
            Issue.record("append after a failed sync must throw")
        } catch {
            guard case .walFailed = error else { Issue.record("unexpected \(error)"); return }
        }
    }

    @Test func leftoverTemporarySegmentIsRemoved() throws {
        let fs = SimulatedFileSystem(seed: 1)
        _ = try WriteAheadLog.create(directory: walDirectory, metadata: [], fileSystem: fs)
        let stray = try fs.open(walDirectory + "/0000000000000001-0000000000000001.wal.tmp", mode: .truncate)
        try stray.write([1, 2, 3], at: 0)
        try fs.syncDirectory(walDirectory)
        fs.crash(.loseUnsynced)
        _ = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs)
        #expect(try fs.listDirectory(walDirectory) == ["0000000000000000-0000000000000000.wal"])
    }
}

@Suite struct WALMissingDirectoryTests {
    @Test func openingAMissingDirectoryIsWalNotFound() {
        let fs = SimulatedFileSystem(seed: 1)
        #expect(throws: StorageError.walNotFound(directory: "/nowhere/wal")) {
            try WriteAheadLog.open(directory: "/nowhere/wal", fileSystem: fs)
        }
        #expect(!WriteAheadLog.exists(directory: "/nowhere/wal", fileSystem: fs))
        #expect(throws: StorageError.walNotFound(directory: "/nowhere/wal")) {
            try WriteAheadLog.read(directory: "/nowhere/wal", fileSystem: POSIXFileSystem())
        }
    }
}
