import Testing

@testable import Storage

/// Backend images: what a leader sends a follower in place of log entries.
@Suite struct BackendImageTests {
    static let buckets: [Bucket] = ["key", "meta"]

    /// Exports a backend of `count` records, installs the image as a new
    /// file over another backend's path, and reads everything back.
    @Test func anImageMovesEveryRecordIntoANewFile() throws {
        let source = try BackendFixture()
        let backend = try source.open(buckets: Self.buckets)
        // More records than one install transaction takes.
        let count = BackendImage.recordsPerTransaction + 1_234
        try backend.write { tx in
            for i in 0..<count { try tx.put(revisionKey(i), recordValue(i, size: 40), in: "key") }
            try tx.put(Array("consistent_index".utf8), [0, 0, 0, 7], in: "meta")
        }
        let image = try BackendImage.export(backend)

        let target = try BackendFixture()
        let old = try target.open(buckets: Self.buckets)
        try old.write { tx in try tx.put([1], [1], in: "key") }  // replaced wholesale
        let incoming = target.path + ".incoming"
        try BackendImage.write(try BackendImage.decode(image), toNewDatabaseAt: incoming, buckets: Self.buckets)
        try old.close()
        try BackendImage.moveIntoPlace(from: incoming, to: target.path)

        let installed = try target.open(buckets: Self.buckets)
        try installed.read { tx throws in
            #expect(try tx.count(in: "key") == count)
            #expect(try tx.get([1], in: "key") == nil)
            #expect(try tx.get(revisionKey(count - 1), in: "key") == recordValue(count - 1, size: 40))
            #expect(try tx.get(Array("consistent_index".utf8), in: "meta") == [0, 0, 0, 7])
        }
        #expect(try BackendImage.export(installed) == image)
    }

    @Test func damagedImagesAreRefusedBeforeAnythingIsWritten() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open(buckets: Self.buckets)
        try backend.write { tx in
            for i in 0..<100 { try tx.put(revisionKey(i), recordValue(i, size: 10), in: "key") }
        }
        let image = try BackendImage.export(backend)
        var flipped = image
        flipped[image.count / 2] ^= 0x40
        for damaged in [flipped, Array(image.dropLast(1)), Array(image.prefix(3)), [], Array("nonsense".utf8)] {
            #expect(throws: BackendError.self) { try BackendImage.decode(damaged) }
        }
        // An image naming a bucket the receiver does not have is refused.
        let other = try BackendFixture()
        let foreign = try other.open(buckets: ["key", "surprise"])
        try foreign.write { tx in try tx.put([1], [1], in: "surprise") }
        let contents = try BackendImage.decode(try BackendImage.export(foreign))
        #expect(throws: BackendError.self) {
            try BackendImage.write(contents, toNewDatabaseAt: other.path + ".incoming", buckets: Self.buckets)
        }
    }

    /// A crash while an image was being written leaves a stale incoming
    /// file; the next install starts it afresh.
    @Test func leftoversOfAnEarlierInstallAreReplaced() throws {
        let fixture = try BackendFixture()
        let backend = try fixture.open(buckets: Self.buckets)
        try backend.write { tx in try tx.put([2], [2], in: "key") }
        let image = try BackendImage.export(backend)
        let incoming = fixture.path + ".stale"
        let stale = try Backend(path: incoming, buckets: Self.buckets)
        try stale.write { tx in try tx.put([9], [9], in: "key") }
        try stale.close()
        try BackendImage.write(try BackendImage.decode(image), toNewDatabaseAt: incoming, buckets: Self.buckets)
        let reopened = try Backend(path: incoming, buckets: Self.buckets)
        try reopened.read { tx throws in
            #expect(try tx.get([9], in: "key") == nil)
            #expect(try tx.get([2], in: "key") == [2])
        }
    }
}
