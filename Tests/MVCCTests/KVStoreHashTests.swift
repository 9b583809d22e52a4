import Testing
@testable import MVCC

@Suite struct KVStoreHashTests {
    typealias F = KVFixture

    @Test func crc32cMatchesTheStandardCheckValue() {
        var crc = CRC32C()
        crc.update(Array("123456789".utf8))
        #expect(crc.value == 0xE306_9283)
    }

    @Test func protobufEncodingOfAKeyValue() {
        var out: [UInt8] = []
        ProtobufKeyValue.append(
            key: F.b("k"), createRevision: 2, modRevision: 300, version: 1, value: F.b("v"), lease: 0, to: &out)
        #expect(out == [0x0a, 1, 0x6b, 0x10, 2, 0x18, 0xac, 0x02, 0x20, 1, 0x2a, 1, 0x76])
        var tomb: [UInt8] = []
        ProtobufKeyValue.append(key: F.b("k"), to: &tomb)
        #expect(tomb == [0x0a, 1, 0x6b])
    }

    private static func history(_ s: inout KVStore, upTo n: Int) throws {
        for i in 0..<n {
            if i % 4 == 3 {
                _ = s.deleteRange(DeleteRangeRequest(key: F.b("k\(i % 3)")))
            } else {
                try F.put(&s, "k\(i % 3)", "v\(i)")
            }
        }
    }

    @Test func theSameHistoryHashesTheSameAtEveryRevision() throws {
        var long = KVStore()
        try Self.history(&long, upTo: 12)
        var short = KVStore()
        try Self.history(&short, upTo: 8)
        let rev = short.currentRevision
        #expect(try long.hashKV(revision: rev).hash == short.hashKV(revision: 0).hash)
        #expect(try long.hashKV(revision: rev).hash != long.hashKV(revision: rev - 1).hash)
        #expect(try long.hashKV(revision: 0).revision == long.currentRevision)
        let restored = try KVStore(snapshot: long.snapshot())
        #expect(try restored.hashKV(revision: 0) == long.hashKV(revision: 0))
    }

    @Test func membersCompactedAlikeHashAlike() throws {
        var s = KVStore()
        try Self.history(&s, upTo: 12)
        let compactAt = s.currentRevision - 3
        try s.compact(compactAt)
        #expect(try s.hashKV(revision: compactAt + 1).compactRevision == compactAt)
        #expect(throws: MVCCError.compacted) { try s.hashKV(revision: compactAt) }
        #expect(throws: MVCCError.futureRevision) { try s.hashKV(revision: s.currentRevision + 1) }
        // Two members compacting at the same point agree.
        var other = KVStore()
        try Self.history(&other, upTo: 12)
        try other.compact(compactAt)
        #expect(try other.hashKV(revision: compactAt + 1).hash == s.hashKV(revision: compactAt + 1).hash)
        // ... and differ from one that did not compact, whose old versions still count.
        var uncompacted = KVStore()
        try Self.history(&uncompacted, upTo: 12)
        #expect(try uncompacted.hashKV(revision: compactAt + 1).hash != s.hashKV(revision: compactAt + 1).hash)
    }

    @Test func differentValuesHashDifferently() throws {
        var a = KVStore()
        var b = KVStore()
        try F.put(&a, "k", "1")
        try F.put(&b, "k", "2")
        #expect(try a.hashKV(revision: 0).hash != b.hashKV(revision: 0).hash)
    }
}
