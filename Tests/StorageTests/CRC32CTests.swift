import Testing

@testable import Storage

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum(Array("a".utf8)) == 0xC1D0_4330)
        // RFC 3720 (iSCSI) appendix B.4 vectors.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func chainingEqualsConcatenation() {
        var random = SeededRandom(seed: 7)
        for _ in 0..<50 {
            let a = (0..<Int.random(in: 0..<100, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let b = (0..<Int.random(in: 0..<100, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(CRC32C.update(CRC32C.checksum(a), b) == CRC32C.checksum(a + b))
            let whole = a + b
            #expect(CRC32C.update(0, whole, range: a.count..<whole.count) == CRC32C.checksum(b))
        }
    }
}

@Suite struct NamingTests {
    @Test func ancestors() {
        #expect(Path.ancestors(of: "/data/member/wal") == ["/data/member", "/data", "/"])
        #expect(Path.ancestors(of: "default.etcd/member/wal") == ["default.etcd/member", "default.etcd", "."])
        #expect(Path.ancestors(of: "./x/") == ["."])
        #expect(StorageLayout.walDirectory(in: "default.etcd") == "default.etcd/member/wal")
    }

    @Test func segmentAndSnapshotNames() {
        let name = SegmentName(sequence: 0x1f, firstIndex: 0xabc)
        #expect(name.fileName == "000000000000001f-0000000000000abc.wal")
        #expect(SegmentName(parsing: name.fileName) == name)
        #expect(SegmentName(parsing: "000000000000001f-0000000000000abc.wal.tmp") == nil)
        #expect(SegmentName(parsing: "000000000000001F-0000000000000abc.wal") == nil)
        #expect(SegmentName(parsing: "1f-abc.wal") == nil)
        #expect(SnapshotStore.fileName(index: 0x10, term: 2) == "0000000000000002-0000000000000010.snap")
        let parsed = SnapshotStore.snapshotFiles([
            "0000000000000002-0000000000000010.snap", "0000000000000003-0000000000000020.snap",
            "0000000000000003-0000000000000020.snap.broken", "junk.snap",
        ])
        #expect(parsed.map(\.marker) == [WALSnapshot(index: 0x20, term: 3), WALSnapshot(index: 0x10, term: 2)])
    }
}
