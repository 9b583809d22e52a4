import Raft
import Testing

@Suite("Binary encoding")
struct CodecTests {
    let message = Message(
        type: .app, to: 2, from: 1, term: 7, logTerm: 6, index: 41,
        entries: [
            Entry(term: 7, index: 42, data: Array("put k v".utf8)),
            Entry(term: 7, index: 43, type: .confChange, data: ConfChange(type: .addLearnerNode, nodeID: 9).encoded()),
        ],
        commit: 40,
        snapshot: Snapshot(data: [1, 2, 3], metadata: SnapshotMetadata(index: 30, term: 5, confState: ConfState(voters: [1, 2, 3], learners: [9]))),
        reject: true, rejectHint: 12, context: [0xff, 0])

    @Test func messageRoundTrips() throws {
        #expect(try Message(decoding: message.encoded()) == message)
    }

    @Test func valueTypesRoundTrip() throws {
        let hard = HardState(term: .max, vote: 3, commit: 1 << 40)
        #expect(try HardState(decoding: hard.encoded()) == hard)
        let change = ConfChange(type: .removeNode, nodeID: 0xdead_beef_cafe, context: [1])
        #expect(try ConfChange(decoding: change.encoded()) == change)
        let entry = Entry(term: 1, index: 2, data: [])
        #expect(try Entry(decoding: entry.encoded()) == entry)
    }

    @Test func everyTruncationIsRejected() {
        let bytes = message.encoded()
        for length in 0..<bytes.count {
            #expect(throws: BinaryDecodingError.self) { try Message(decoding: Array(bytes[..<length])) }
        }
    }

    @Test func trailingBytesAreRejected() {
        #expect(throws: BinaryDecodingError.trailingBytes(1)) { try HardState(decoding: HardState().encoded() + [0]) }
    }

    @Test func unknownEnumValuesAreRejected() {
        var bytes = message.encoded()
        bytes[0] = 200  // message type
        #expect(throws: BinaryDecodingError.self) { try Message(decoding: bytes) }
    }

    @Test func hugeLengthPrefixDoesNotAllocateOrCrash() {
        // type app, to/from/term/logTerm/index = 0, then an entry count of 2^63.
        let bytes: [UInt8] = [3, 0, 0, 0, 0, 0] + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
        #expect(throws: BinaryDecodingError.truncated) { try Message(decoding: bytes) }
    }

    @Test func overlongVarintIsRejected() {
        let bytes: [UInt8] = Array(repeating: 0xff, count: 10) + [0x01]
        #expect(throws: BinaryDecodingError.self) { try HardState(decoding: bytes) }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            let length = Int(rng.next(below: 64))
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? Message(decoding: bytes)
        }
        // Mutating single bytes of a valid encoding must also never trap.
        let valid = message.encoded()
        for i in valid.indices {
            var bytes = valid
            bytes[i] ^= 0xa5
            _ = try? Message(decoding: bytes)
        }
    }
}
