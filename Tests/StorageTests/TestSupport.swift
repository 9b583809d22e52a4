import Testing

@testable import Storage

/// Deterministic records for WAL tests: entries (indexed) with a state
/// record (index 0) every few entries, payload sizes varied, each payload
/// unique so a misplaced record is noticed.
struct RecordFactory {
    private var random: SeededRandom
    private(set) var nextIndex: UInt64 = 1
    private(set) var serial: UInt32 = 0

    static let entryType: UInt8 = 2
    static let stateType: UInt8 = 3

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func batch(maxCount: Int = 4, maxPayload: Int = 200) -> [WALRecord] {
        let count = Int.random(in: 1...maxCount, using: &random)
        return (0..<count).map { _ in next(maxPayload: maxPayload) }
    }

    mutating func next(maxPayload: Int = 200) -> WALRecord {
        serial += 1
        let length = Int.random(in: 0...maxPayload, using: &random)
        var payload: [UInt8] = []
        withUnsafeBytes(of: serial.littleEndian) { payload.append(contentsOf: $0) }
        payload += (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(serial)) }
        if serial % 5 == 0 {
            return WALRecord(type: RecordFactory.stateType, index: 0, payload: payload)
        }
        defer { nextIndex += 1 }
        return WALRecord(type: RecordFactory.entryType, index: nextIndex, payload: payload)
    }
}

let walDirectory = "/data/member/wal"
let snapDirectory = "/data/member/snap"
let smallSegments = WALOptions(segmentSize: 512, maxPayloadSize: 4096)

/// True if `prefix` is a prefix of `whole`.
func isPrefix(_ prefix: [WALRecord], of whole: [WALRecord]) -> Bool {
    prefix.count <= whole.count && Array(whole[0..<prefix.count]) == prefix
}

extension StorageError {
    var isSimulatedCrash: Bool {
        if case .simulatedCrash = self { return true }
        return false
    }
}

/// Records an issue unless `prefix` is a prefix of `whole`, describing the
/// first difference compactly (records can be long).
func expectPrefix(
    _ prefix: [WALRecord], of whole: [WALRecord], _ message: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard !isPrefix(prefix, of: whole) else { return }
    let common = min(prefix.count, whole.count)
    let mismatch = (0..<common).first { prefix[$0] != whole[$0] } ?? common
    let describe = { (records: [WALRecord]) -> String in
        mismatch < records.count ? "type \(records[mismatch].type) index \(records[mismatch].index)" : "end"
    }
    let summary = "not a prefix (\(prefix.count) vs \(whole.count) records; first difference at \(mismatch): "
        + "\(describe(prefix)) vs \(describe(whole))) \(message())"
    Issue.record(Comment(rawValue: summary), sourceLocation: sourceLocation)
}
