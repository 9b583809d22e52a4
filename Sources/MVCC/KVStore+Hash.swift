/// Consistency hashing for the maintenance API (etcd's `HashKV`): members
/// that applied the same history report the same hash, so a corrupted
/// member stands out.
extension KVStore {
    /// A hash of the key space's retained history up to `revision`.
    public struct HashKV: Sendable, Hashable {
        public var hash: UInt32
        /// The store's current revision (the response header's).
        public var revision: Int64
        /// The latest compaction revision (0 if never).
        public var compactRevision: Int64
    }

    /// Hashes every retained version up to `revision` (0: the current one),
    /// as etcd's `HashByRev` does over its backend: versions newer than the
    /// compaction, plus, of the older ones, those still visible at
    /// `revision`. Each version is fed to CRC-32C in revision order as etcd
    /// lays it out on disk (revision bytes, then the protobuf `KeyValue`),
    /// so the same history hashes the same in etcd. Fails with `.compacted`
    /// for a revision at or below the compaction (etcd refuses even equal
    /// here) and `.futureRevision` past the current one.
    public func hashKV(revision: Int64) throws(MVCCError) -> HashKV {
        if revision > 0 && revision <= compactMainRevision { throw .compacted }
        if revision > currentRevision { throw .futureRevision }
        let upper = revision > 0 ? revision : currentRevision

        var included: [(revision: Revision, key: [UInt8], entry: KeyIndex.Entry)] = []
        var keptCount = 0
        index.forEach(from: [], to: []) { ki in
            let visible = ki.get(atRev: upper)
            if visible != nil { keptCount += 1 }
            for entry in ki.entries where entry.revision.main <= upper {
                if entry.revision.main <= compactMainRevision && entry.revision != visible?.revision {
                    continue
                }
                included.append((entry.revision, ki.key, entry))
            }
            return true
        }
        // etcd filters the old versions only when something is kept at all.
        if keptCount == 0 {
            included.removeAll()
            index.forEach(from: [], to: []) { ki in
                for entry in ki.entries where entry.revision.main <= upper {
                    included.append((entry.revision, ki.key, entry))
                }
                return true
            }
        }
        included.sort { $0.revision < $1.revision }

        var crc = CRC32C()
        crc.update(Array("key".utf8))
        var buffer: [UInt8] = []
        // Values not in memory are read from the source a batch at a time,
        // so hashing a large store never holds all of them at once.
        var start = 0
        while start < included.count {
            let batch = included[start..<min(start + 1024, included.count)]
            start = batch.endIndex
            let missing = batch.filter { $0.entry.value == nil && !$0.entry.isTombstone }.map(\.revision)
            var fetched = (valueSource.map { $0.values(at: missing) } ?? []).makeIterator()
            for item in batch {
                buffer.removeAll(keepingCapacity: true)
                Self.appendRevisionBytes(item.revision, tombstone: item.entry.isTombstone, to: &buffer)
                crc.update(buffer)
                buffer.removeAll(keepingCapacity: true)
                if item.entry.isTombstone {
                    ProtobufKeyValue.append(key: item.key, to: &buffer)
                } else {
                    let value = item.entry.value ?? fetched.next() ?? []
                    ProtobufKeyValue.append(
                        key: item.key, createRevision: item.entry.createRevision,
                        modRevision: item.revision.main, version: item.entry.version,
                        value: value, lease: item.entry.lease, to: &buffer)
                }
                crc.update(buffer)
            }
        }
        return HashKV(hash: crc.value, revision: currentRevision, compactRevision: compactedRevision)
    }

    /// etcd's backend key for a version: main and sub big-endian around an
    /// underscore, with a trailing `t` for a tombstone.
    static func appendRevisionBytes(_ r: Revision, tombstone: Bool, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: r.main) >> UInt64(shift))) }
        out.append(UInt8(ascii: "_"))
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: r.sub) >> UInt64(shift))) }
        if tombstone { out.append(UInt8(ascii: "t")) }
    }
}

/// The protobuf wire form of `mvccpb.KeyValue` (fields 1–6; zero values
/// omitted, as proto3 encoders do).
enum ProtobufKeyValue {
    static func append(
        key: [UInt8], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0,
        value: [UInt8] = [], lease: Int64 = 0, to out: inout [UInt8]
    ) {
        bytesField(1, key, &out)
        varintField(2, createRevision, &out)
        varintField(3, modRevision, &out)
        varintField(4, version, &out)
        bytesField(5, value, &out)
        varintField(6, lease, &out)
    }

    private static func varint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        // At most 10 bytes for 64 bits.
        for _ in 0..<10 {
            if v < 0x80 {
                out.append(UInt8(v))
                return
            }
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
    }

    private static func varintField(_ number: UInt64, _ v: Int64, _ out: inout [UInt8]) {
        guard v != 0 else { return }
        varint(number << 3, &out)
        varint(UInt64(bitPattern: v), &out)
    }

    private static func bytesField(_ number: UInt64, _ b: [UInt8], _ out: inout [UInt8]) {
        guard !b.isEmpty else { return }
        varint(number << 3 | 2, &out)
        varint(UInt64(b.count), &out)
        out.append(contentsOf: b)
    }
}

/// CRC-32C (Castagnoli), the checksum etcd hashes its backend with.
struct CRC32C {
    private static let table: [UInt32] = (0..<256).map { (i: Int) -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    private var state: UInt32 = 0xFFFF_FFFF

    var value: UInt32 { ~state }

    mutating func update(_ bytes: [UInt8]) {
        var c = state
        Self.table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        }
        state = c
    }
}
