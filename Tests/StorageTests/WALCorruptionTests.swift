import Testing

@testable import Storage

/// Torn tails are cut off; damage anywhere else refuses to open, naming the
/// file and byte offset, and never drops a record silently.
@Suite struct WALCorruptionTests {
    static let options = WALOptions(segmentSize: 8192, maxPayloadSize: 4096)
    static let firstSegment = walDirectory + "/0000000000000000-0000000000000000.wal"

    /// A one-segment log of `count` records (payload sizes multiples of 8
    /// when `aligned`, so frames have no padding), synced. Returns the
    /// records and each record's frame start offset.
    static func makeLog(
        _ fs: SimulatedFileSystem, count: Int = 12, aligned: Bool = false
    ) throws -> (records: [WALRecord], offsets: [Int], end: Int) {
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [7], fileSystem: fs, options: options)
        var records: [WALRecord] = []
        for i in 0..<count {
            let length = aligned ? 8 * (i % 5 + 1) : i * 7 % 45
            records.append(WALRecord(type: 2, index: UInt64(i + 1), payload: (0..<length).map { UInt8(truncatingIfNeeded: $0 * 13 + i) }))
        }
        try wal.append(records)
        try wal.sync()
        let headerPayload = SegmentHeader(sequence: 0, firstIndex: 0, previousCRC: 0, metadata: [7]).encoded()
        var offset = WALFrame.encode(type: WALFrame.segmentHeaderType, index: 0, epoch: 0, payload: headerPayload, previousCRC: 0).bytes.count
        var offsets: [Int] = []
        for record in records {
            offsets.append(offset)
            offset += WALFrame.encode(type: record.type, index: record.index, epoch: 0, payload: record.payload, previousCRC: 0).bytes.count
        }
        return (records, offsets, offset)
    }

    static func overwrite(_ fs: SimulatedFileSystem, _ path: String, _ bytes: [UInt8], at offset: Int) throws {
        let file = try fs.open(path, mode: .existing)
        try file.write(bytes, at: offset)
        try file.sync()
    }

    /// Expects open to fail with `.corruptWAL` at `file`/`offset`.
    static func expectCorrupt(
        _ fs: SimulatedFileSystem, file: String, offset: Int, _ context: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: options)
            Issue.record("opened a corrupt log (\(context))", sourceLocation: sourceLocation)
        } catch {
            guard case let .corruptWAL(errorFile, errorOffset, _) = error else {
                Issue.record("unexpected \(error) (\(context))", sourceLocation: sourceLocation)
                return
            }
            #expect(errorFile == file && errorOffset == offset, "\(error) (\(context))", sourceLocation: sourceLocation)
            #expect(error.description.contains("etcdctl snapshot restore"), sourceLocation: sourceLocation)
            #expect(error.description.contains(file), sourceLocation: sourceLocation)
        }
    }

    @Test func tornTailOfEveryLengthIsCutOff() throws {
        let fs0 = SimulatedFileSystem(seed: 0)
        let (records, offsets, end) = try Self.makeLog(fs0, aligned: true)
        let lastOffset = try #require(offsets.last)
        let frame = Array(try #require(fs0.contents(of: Self.firstSegment))[lastOffset..<end])
        for keep in 0..<frame.count {
            for garbage in [false, true] {
                let fs = SimulatedFileSystem(seed: UInt64(keep))
                _ = try Self.makeLog(fs, aligned: true)
                var random = SeededRandom(seed: UInt64(keep))
                let replacement = frame[keep...].map { garbage ? $0 ^ UInt8.random(in: 1...255, using: &random) : 0 }
                try Self.overwrite(fs, Self.firstSegment, replacement, at: lastOffset + keep)
                let context = "keep \(keep) of \(frame.count), garbage \(garbage)"

                let (wal, contents) = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: Self.options)
                #expect(contents.records == Array(records.dropLast()), "\(context)")
                if keep == 0 && !garbage {
                    #expect(contents.tornTail == nil, "\(context)")  // plain zeroed space
                } else {
                    #expect(contents.tornTail?.offset == lastOffset, "\(context)")
                }
                // The cut-off space is re-zeroed and appends verify.
                let next = WALRecord(type: 2, index: UInt64(records.count), payload: [1, 2, 3])
                try wal.append([next])
                try wal.sync()
                fs.crash(.loseUnsynced)
                let reread = try WriteAheadLog.read(directory: walDirectory, fileSystem: fs, options: Self.options)
                #expect(reread.records == Array(records.dropLast()) + [next], "\(context)")
                #expect(reread.tornTail == nil, "\(context)")
            }
        }
    }

    @Test func strayBytesAfterAZeroGapAreZeroedOnOpen() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let (records, _, end) = try Self.makeLog(fs)
        try Self.overwrite(fs, Self.firstSegment, [1, 2, 3], at: end + 100)
        let (_, contents) = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: Self.options)
        #expect(contents.records == records)
        #expect(contents.tornTail?.offset == end)
        let data = try #require(fs.contents(of: Self.firstSegment))
        #expect(data[end...].allSatisfy { $0 == 0 })
    }

    @Test func readOnlyReadReportsButDoesNotCutATornTail() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let (records, offsets, _) = try Self.makeLog(fs)
        let lastOffset = try #require(offsets.last)
        try Self.overwrite(fs, Self.firstSegment, [0xAB, 0xCD], at: lastOffset + 30)
        let before = fs.contents(of: Self.firstSegment)
        let contents = try WriteAheadLog.read(directory: walDirectory, fileSystem: fs, options: Self.options)
        #expect(contents.tornTail?.offset == lastOffset)
        #expect(contents.records == Array(records.dropLast()))
        #expect(fs.contents(of: Self.firstSegment) == before)
    }

    @Test func flippedBitBeforeTheTailRefusesToOpen() throws {
        let fs0 = SimulatedFileSystem(seed: 0)
        let (_, offsets, _) = try Self.makeLog(fs0)
        let lastOffset = try #require(offsets.last)
        let starts = [0] + offsets
        for byte in 0..<lastOffset {
            let fs = SimulatedFileSystem(seed: 0)
            _ = try Self.makeLog(fs)
            try fs.flipBit(in: Self.firstSegment, atByte: byte, bit: byte % 8)
            let recordStart = try #require(starts.last { $0 <= byte })
            Self.expectCorrupt(fs, file: Self.firstSegment, offset: recordStart, "bit flipped at byte \(byte)")
        }
    }

    /// The documented limit (shared with etcd): damage to the very last
    /// record is indistinguishable from a torn write, so it is cut off.
    @Test func flippedBitInTheLastRecordLooksTorn() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let (records, offsets, _) = try Self.makeLog(fs)
        let lastOffset = try #require(offsets.last)
        try fs.flipBit(in: Self.firstSegment, atByte: lastOffset + 25)
        let contents = try WriteAheadLog.read(directory: walDirectory, fileSystem: fs, options: Self.options)
        #expect(contents.records == Array(records.dropLast()))
        #expect(contents.tornTail?.offset == lastOffset)
    }

    @Test func zeroedHoleBeforeTheTailRefusesToOpen() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let (_, offsets, _) = try Self.makeLog(fs)
        try Self.overwrite(fs, Self.firstSegment, [UInt8](repeating: 0, count: 48), at: offsets[4])
        Self.expectCorrupt(fs, file: Self.firstSegment, offset: offsets[4], "zeroed hole")
    }

    /// Zeroes a sector inside one of several synced batches: records of a
    /// later epoch follow, so the damage hit synced data.
    @Test func zeroedSectorBeforeLaterSyncedBatchesRefusesToOpen() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let wal = try WriteAheadLog.create(
            directory: walDirectory, metadata: [7], fileSystem: fs, options: Self.options)
        for batch in 0..<4 {
            try wal.append((0..<4).map { WALRecord(type: 2, index: UInt64(batch * 4 + $0 + 1), payload: [UInt8](repeating: 0xAA, count: 120)) })
            try wal.sync()
        }
        // Batch 1 spans bytes ~690...1300; the sector at 1024 lies inside it.
        try Self.overwrite(fs, Self.firstSegment, [UInt8](repeating: 0, count: 512), at: 1024)
        do {
            _ = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: Self.options)
            Issue.record("opened a log whose synced data lost a sector")
        } catch {
            guard case let .corruptWAL(file, offset, _) = error else { Issue.record("\(error)"); return }
            #expect(file == Self.firstSegment && offset < 1024)
        }
    }

    /// The documented limit of the out-of-order rule: a sector zeroed inside
    /// the last synced batch looks like that batch's writeback never
    /// finished, so the batch's tail from the damage on is cut off.
    @Test func zeroedSectorInTheLastBatchLooksLikeOutOfOrderWriteback() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let wal = try WriteAheadLog.create(
            directory: walDirectory, metadata: [7], fileSystem: fs, options: Self.options)
        let records = (1...16).map { WALRecord(type: 2, index: UInt64($0), payload: [UInt8](repeating: 0xAA, count: 120)) }
        try wal.append(records)
        try wal.sync()
        try Self.overwrite(fs, Self.firstSegment, [UInt8](repeating: 0, count: 512), at: 1024)
        let contents = try WriteAheadLog.read(directory: walDirectory, fileSystem: fs, options: Self.options)
        #expect(contents.tornTail?.discardedLaterRecords == true)
        expectPrefix(contents.records, of: records)
        #expect(contents.records.count < records.count)
    }

    @Test func recordCopiedFromAnotherPositionIsDetected() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let (_, offsets, _) = try Self.makeLog(fs, aligned: true)
        // Records 2 and 7 have the same payload size (aligned sizes cycle by 5).
        let data = try #require(fs.contents(of: Self.firstSegment))
        let frame = Array(data[offsets[2]..<offsets[3]])
        #expect(offsets[8] - offsets[7] == frame.count)
        try Self.overwrite(fs, Self.firstSegment, frame, at: offsets[7])
        Self.expectCorrupt(fs, file: Self.firstSegment, offset: offsets[7], "spliced record")
    }

    /// A log of several segments (small segment size).
    static func makeSegmentedLog(_ fs: SimulatedFileSystem, seed: UInt64 = 1) throws -> [String] {
        let wal = try WriteAheadLog.create(directory: walDirectory, metadata: [7], fileSystem: fs, options: smallSegments)
        var factory = RecordFactory(seed: seed)
        while wal.segmentNames.count < 4 {
            try wal.append(factory.batch())
            try wal.sync()
        }
        return wal.segmentNames.map { Path.join(walDirectory, $0) }
    }

    @Test func damageAtTheEndOfAnOlderSegmentIsCorruptionNotATornTail() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let segments = try Self.makeSegmentedLog(fs)
        let size = try #require(fs.contents(of: segments[1])).count
        try fs.flipBit(in: segments[1], atByte: size - 1, bit: 3)
        do {
            _ = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: smallSegments)
            Issue.record("opened a log with a damaged older segment")
        } catch {
            guard case let .corruptWAL(file, _, _) = error else { Issue.record("\(error)"); return }
            #expect(file == segments[1])
        }
    }

    @Test func shortenedOlderSegmentBreaksTheChain() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let segments = try Self.makeSegmentedLog(fs)
        let file = try fs.open(segments[1], mode: .existing)
        try file.truncate(to: try file.size() - 8)
        try file.sync()
        do {
            _ = try WriteAheadLog.open(directory: walDirectory, fileSystem: fs, options: smallSegments)
            Issue.record("opened a log missing the end of a segment")
        } catch {
            guard case .corruptWAL = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func missingSegmentIsAGap() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let segments = try Self.makeSegmentedLog(fs)
        try fs.remove(segments[1])
        Self.expectCorrupt(fs, file: segments[2], offset: 0, "missing segment")
    }

    @Test func segmentFromAnotherLogBreaksTheChain() throws {
        let fs = SimulatedFileSystem(seed: 0)
        let segments = try Self.makeSegmentedLog(fs, seed: 1)
        let other = SimulatedFileSystem(seed: 0)
        let otherSegments = try Self.makeSegmentedLog(other, seed: 2)
        let foreign = try #require(other.contents(of: otherSegments[2]))
        // Copied under our name: its header names another index or its
        // chain does not continue ours; either way, offset 0 is refused.
        let file = try fs.open(segments[2], mode: .existing)
        try file.truncate(to: 0)
        try file.write(foreign, at: 0)
        try file.sync()
        Self.expectCorrupt(fs, file: segments[2], offset: 0, "foreign segment")
    }
}
