/// A whole backend as one byte string: what a leader sends a follower that
/// fell too far behind for log entries (etcd sends its bolt file the same
/// way, after the Raft snapshot message).
///
/// Layout: magic `SEBI`, a format version, then per bucket its name and
/// records (key, value), every length a little-endian UInt32, and a CRC-32C
/// of everything before it at the end, so a damaged transfer is refused
/// before anything is replaced.
///
/// `export` reads one LMDB read transaction (a consistent view, taken while
/// writers go on); `install` builds a new database file next to the old one
/// in transactions of bounded size and only then moves it into place, so a
/// crash at any instant leaves either the old file or the complete new one.
public enum BackendImage {
    static let magic: [UInt8] = Array("SEBI".utf8)
    static let version: UInt8 = 1
    /// Records per write transaction on install: LMDB keeps a transaction's
    /// dirty pages in memory and refuses one that dirties too many.
    static let recordsPerTransaction = 20_000

    /// Every record of every bucket of `backend`, read in one transaction.
    public static func export(_ backend: Backend) throws -> [UInt8] {
        var out = magic
        out.append(version)
        try backend.read { tx in
            let buckets = backend.buckets
            append(UInt32(buckets.count), to: &out)
            for bucket in buckets {
                append(Array(bucket.name.utf8), to: &out)
                append(UInt32(try tx.count(in: bucket)), to: &out)
                try tx.forEach(in: bucket) { key, value in
                    append(UInt32(key.count), to: &out)
                    out.append(contentsOf: key)
                    append(UInt32(value.count), to: &out)
                    out.append(contentsOf: value)
                    return true
                }
            }
        }
        append(CRC32C.checksum(out), to: &out)
        return out
    }

    /// The buckets and records of an image, checked end to end.
    public struct Contents: Sendable {
        public var buckets: [(bucket: Bucket, records: [(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)])]
    }

    /// Parses `image`, refusing a damaged or foreign one.
    public static func decode(_ image: [UInt8]) throws(BackendError) -> Contents {
        guard image.count >= magic.count + 1 + 4 + 4, Array(image.prefix(magic.count)) == magic else {
            throw .corruptImage(reason: "not a backend image")
        }
        guard image[magic.count] == version else {
            throw .corruptImage(reason: "backend image version \(image[magic.count]) is not supported")
        }
        let body = image.count - 4
        let stored = image.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: body, as: UInt32.self)) }
        guard CRC32C.update(0, image, range: 0..<body) == stored else {
            throw .corruptImage(reason: "checksum mismatch")
        }
        var reader = Reader(image: image, position: magic.count + 1, end: body)
        var buckets: [(bucket: Bucket, records: [(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)])] = []
        for _ in 0..<(try reader.count()) {
            let name = String(decoding: try reader.data(), as: UTF8.self)
            var records: [(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)] = []
            let n = try reader.count()
            records.reserveCapacity(n)
            for _ in 0..<n { records.append((try reader.data(), try reader.data())) }
            buckets.append((Bucket(name), records))
        }
        guard reader.position == body else { throw .corruptImage(reason: "trailing bytes") }
        return Contents(buckets: buckets)
    }

    /// Writes `contents` into a new database at `path` (whatever was there
    /// is removed first), synced and closed when this returns; `buckets`
    /// are created even if the image lacks them, and image buckets not
    /// among them are refused.
    public static func write(
        _ contents: Contents, toNewDatabaseAt path: String, buckets: [Bucket], options: BackendOptions = BackendOptions()
    ) throws {
        let fileSystem = POSIXFileSystem()
        for leftover in [path, path + "-lock"] where fileSystem.exists(leftover) { try fileSystem.remove(leftover) }
        let backend = try Backend(path: path, buckets: buckets, options: options)
        defer { try? backend.close() }
        for (bucket, records) in contents.buckets {
            guard buckets.contains(bucket) else { throw BackendError.corruptImage(reason: "unknown bucket \(bucket)") }
            var start = 0
            while start < records.count {
                let end = min(start + recordsPerTransaction, records.count)
                try backend.write { tx in
                    for i in start..<end { try tx.put(Array(records[i].key), Array(records[i].value), in: bucket) }
                }
                start = end
            }
        }
        try backend.sync()
    }

    /// Moves a database written by `write(_:toNewDatabaseAt:...)` over
    /// `path` (whose `Backend` must be closed) and makes the rename durable.
    public static func moveIntoPlace(from incoming: String, to path: String) throws {
        let fileSystem = POSIXFileSystem()
        try fileSystem.rename(incoming, to: path)
        if fileSystem.exists(incoming + "-lock") { try fileSystem.remove(incoming + "-lock") }
        if let directory = Path.ancestors(of: path).first { try fileSystem.syncDirectory(directory) }
    }

    private static func append(_ value: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        append(UInt32(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    private static func append(_ raw: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(contentsOf: raw)
    }

    /// Reads lengths and byte strings, never past `end`.
    private struct Reader {
        let image: [UInt8]
        var position: Int
        let end: Int

        mutating func uint32() throws(BackendError) -> UInt32 {
            guard end - position >= 4 else { throw .corruptImage(reason: "truncated") }
            defer { position += 4 }
            return image.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt32.self)) }
        }

        /// A count of records, each at least 8 bytes, so a damaged count
        /// cannot make a loop run away.
        mutating func count() throws(BackendError) -> Int {
            let n = Int(try uint32())
            guard n <= (end - position) / 4 else { throw .corruptImage(reason: "count past the end") }
            return n
        }

        mutating func data() throws(BackendError) -> ArraySlice<UInt8> {
            let n = Int(try uint32())
            guard n <= end - position else { throw .corruptImage(reason: "length past the end") }
            defer { position += n }
            return image[position..<position + n]
        }
    }
}
