/// The on-disk layout of a bbolt database (go.etcd.io/bbolt, format version
/// 2), as etcd's backend file and `etcdctl snapshot save` output use it.
/// Everything is little-endian (bbolt writes its structs in the machine's
/// order, and every platform etcd ships for is little-endian).
///
/// A file is a sequence of pages of `pageSize` bytes, numbered from 0:
/// pages 0 and 1 are meta pages (the newer valid one is current), the
/// meta names the freelist page and the root bucket's page, and every
/// page starts with a 16-byte header. A page whose content needs more
/// than one page spans `overflow` further pages (bbolt has no chains).
enum BoltLayout {
    static let magic: UInt32 = 0xED0C_DAED
    static let version: UInt32 = 2
    static let pageHeaderSize = 16
    /// Leaf and branch elements are both 16 bytes.
    static let elementSize = 16
    /// A bucket's value in its parent: root page ID, sequence.
    static let bucketHeaderSize = 16
    /// The meta struct after the page header; the checksum is its last 8 bytes.
    static let metaSize = 64
    /// `meta.freelist` when the freelist is not written (etcd 3.4 runs
    /// bbolt with `NoFreelistSync`): readers rebuild it by scanning.
    static let noFreelist = UInt64.max
    /// bbolt's limits (`MaxKeySize`, `MaxValueSize`).
    static let maxKeySize = 32768
    static let maxValueSize = (1 << 31) - 2
    /// Page sizes a reader accepts: bbolt uses the OS page size, so 4 KiB
    /// almost everywhere and 64 KiB on some arm64 and ppc64 systems.
    static let pageSizes = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]

    enum PageFlag {
        static let branch: UInt16 = 0x01
        static let leaf: UInt16 = 0x02
        static let meta: UInt16 = 0x04
        static let freelist: UInt16 = 0x10
    }

    /// A leaf element whose value is a nested bucket's header.
    static let bucketLeafFlag: UInt32 = 0x01
}

/// The 16 bytes at the start of every page.
struct BoltPageHeader: Equatable {
    var id: UInt64
    var flags: UInt16
    var count: UInt16
    /// Pages after this one that belong to it.
    var overflow: UInt32

    func encode(into bytes: inout [UInt8], at offset: Int) {
        BoltBytes.store(id, into: &bytes, at: offset)
        BoltBytes.store(flags, into: &bytes, at: offset + 8)
        BoltBytes.store(count, into: &bytes, at: offset + 10)
        BoltBytes.store(overflow, into: &bytes, at: offset + 12)
    }

    /// nil when fewer than 16 bytes are there.
    init?(_ bytes: [UInt8], at offset: Int = 0) {
        guard offset >= 0, bytes.count - offset >= BoltLayout.pageHeaderSize else { return nil }
        id = BoltBytes.load(UInt64.self, bytes, at: offset)
        flags = BoltBytes.load(UInt16.self, bytes, at: offset + 8)
        count = BoltBytes.load(UInt16.self, bytes, at: offset + 10)
        overflow = BoltBytes.load(UInt32.self, bytes, at: offset + 12)
    }

    init(id: UInt64, flags: UInt16, count: UInt16, overflow: UInt32) {
        self.id = id
        self.flags = flags
        self.count = count
        self.overflow = overflow
    }
}

/// bbolt's `meta` struct: what a meta page holds after its header.
struct BoltMeta: Equatable {
    var pageSize: UInt32
    var flags: UInt32 = 0
    /// The root bucket's page (its `bucket` header: root and sequence).
    var root: UInt64
    var rootSequence: UInt64 = 0
    var freelist: UInt64
    /// The high-water mark: pages 0..<highWater are in use or free.
    var highWater: UInt64
    var txid: UInt64

    /// The 64 bytes as bbolt writes them, checksum included.
    func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: BoltLayout.metaSize)
        BoltBytes.store(BoltLayout.magic, into: &bytes, at: 0)
        BoltBytes.store(BoltLayout.version, into: &bytes, at: 4)
        BoltBytes.store(pageSize, into: &bytes, at: 8)
        BoltBytes.store(flags, into: &bytes, at: 12)
        BoltBytes.store(root, into: &bytes, at: 16)
        BoltBytes.store(rootSequence, into: &bytes, at: 24)
        BoltBytes.store(freelist, into: &bytes, at: 32)
        BoltBytes.store(highWater, into: &bytes, at: 40)
        BoltBytes.store(txid, into: &bytes, at: 48)
        BoltBytes.store(FNV64a.hash(bytes[0..<56]), into: &bytes, at: 56)
        return bytes
    }

    enum Problem: Error, Equatable {
        case short, badMagic, badVersion(UInt32), badChecksum
    }

    /// bbolt's `meta.validate`: magic, version, and the checksum (a zero
    /// checksum is accepted, as bbolt accepts it).
    static func decode(_ bytes: [UInt8], at offset: Int) -> Result<BoltMeta, Problem> {
        guard offset >= 0, bytes.count - offset >= BoltLayout.metaSize else { return .failure(.short) }
        guard BoltBytes.load(UInt32.self, bytes, at: offset) == BoltLayout.magic else { return .failure(.badMagic) }
        let version = BoltBytes.load(UInt32.self, bytes, at: offset + 4)
        guard version == BoltLayout.version else { return .failure(.badVersion(version)) }
        let checksum = BoltBytes.load(UInt64.self, bytes, at: offset + 56)
        guard checksum == 0 || checksum == FNV64a.hash(bytes[offset..<offset + 56]) else {
            return .failure(.badChecksum)
        }
        return .success(
            BoltMeta(
                pageSize: BoltBytes.load(UInt32.self, bytes, at: offset + 8),
                flags: BoltBytes.load(UInt32.self, bytes, at: offset + 12),
                root: BoltBytes.load(UInt64.self, bytes, at: offset + 16),
                rootSequence: BoltBytes.load(UInt64.self, bytes, at: offset + 24),
                freelist: BoltBytes.load(UInt64.self, bytes, at: offset + 32),
                highWater: BoltBytes.load(UInt64.self, bytes, at: offset + 40),
                txid: BoltBytes.load(UInt64.self, bytes, at: offset + 48)))
    }
}

/// 64-bit FNV-1a, the meta page checksum (Go's `hash/fnv.New64a`).
enum FNV64a {
    static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }
}

/// Fixed-width little-endian fields at known offsets. Callers check bounds
/// first (`load` is only called after a length check).
enum BoltBytes {
    static func store<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { raw in
            for i in 0..<raw.count { bytes[offset + i] = raw[i] }
        }
    }

    static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + i]) << (8 * i) }
        return value
    }
}

/// Lends two byte arrays' storage to `body`, keeping `body`'s error type
/// (the standard library's `withUnsafeBytes` rethrows untyped errors).
func withBoltBytes<R>(
    _ a: [UInt8], _ b: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(BoltError) -> R
) throws(BoltError) -> R {
    let result: Result<R, BoltError> = a.withUnsafeBytes { x in
        b.withUnsafeBytes { y in Result { () throws(BoltError) -> R in try body(x, y) } }
    }
    return try result.get()
}
