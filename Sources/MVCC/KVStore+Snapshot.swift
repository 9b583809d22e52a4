/// Serializing the whole store, for Raft snapshots and restarts: every
/// key's retained history, the revisions, and the leases (etcd snapshots its
/// bolt database, which holds the same). The journal and lease attachments
/// are not stored; they follow from the histories.
extension KVStore {
    /// Format marker and version, so a foreign or future blob is refused.
    static let snapshotMagic: [UInt8] = Array("SEKV".utf8)
    static let snapshotVersion: UInt8 = 1

    /// The store as bytes; `init(snapshot:lessor:)` reads them back.
    public func snapshot() -> [UInt8] {
        var w = SnapshotWriter()
        w.bytes.append(contentsOf: Self.snapshotMagic)
        w.bytes.append(Self.snapshotVersion)
        w.int(currentRevision)
        w.int(compactMainRevision)
        w.int(Int64(index.count))
        index.forEach(from: [], to: []) { ki in
            w.data(ki.key)
            w.int(Int64(ki.entries.count))
            for e in ki.entries {
                w.int(e.revision.main)
                w.int(e.revision.sub)
                w.int(e.createRevision)
                w.int(e.version)
                w.int(e.lease)
                w.data(e.value ?? keyValue(ki, e).value)
            }
            return true
        }
        let leases = lessor.leaseMap.values.sorted { $0.id < $1.id }
        w.int(Int64(leases.count))
        for lease in leases {
            w.int(lease.id)
            w.int(lease.ttl)
            w.int(lease.remainingTTL)
        }
        return w.bytes
    }

    /// Rebuilds a store from `snapshot()` output. Leases are granted anew in
    /// `lessor` (an empty one, which supplies clock, configuration and
    /// primary state): on a primary lessor their TTLs restart in full, on a
    /// non-primary one they wait for `promote`, as after etcd's recovery.
    public init(snapshot: [UInt8], lessor: Lessor = Lessor()) throws(SnapshotError) {
        var r = SnapshotReader(bytes: snapshot)
        guard try r.take(Self.snapshotMagic.count) == Self.snapshotMagic else { throw .badFormat }
        guard try r.take(1) == [Self.snapshotVersion] else { throw .unsupportedVersion }
        self.init(lessor: lessor)
        currentRevision = try r.int()
        compactMainRevision = try r.int()
        guard currentRevision >= 1, compactMainRevision >= -1, compactMainRevision <= currentRevision else { throw .corrupt }

        var records: [RevisionLog.Record] = []
        var previousKey: [UInt8]? = nil
        let keyCount = try r.count()
        for _ in 0..<keyCount {
            let key = try r.data()
            if let previousKey, !Bytes.less(previousKey, key) { throw .corrupt }
            previousKey = key
            var ki = KeyIndex(key: key)
            let entryCount = try r.count()
            guard entryCount > 0 else { throw .corrupt }
            for _ in 0..<entryCount {
                let revision = Revision(main: try r.int(), sub: try r.int())
                let createRevision = try r.int()
                let version = try r.int()
                let lease = try r.int()
                let value = try r.data()
                guard revision.main <= currentRevision else { throw .corrupt }
                if let last = ki.entries.last, !(last.revision < revision) { throw .corrupt }
                ki.restore(
                    KeyIndex.Entry(
                        revision: revision, createRevision: createRevision, version: version,
                        value: value, lease: lease))
                if revision.main >= compactMainRevision { records.append(.init(revision: revision, key: key)) }
            }
            index.modify(key) { $0 = ki }
        }
        records.sort { $0.revision < $1.revision }
        for record in records { log.append(record.revision, record.key) }

        let leaseCount = try r.count()
        for _ in 0..<leaseCount {
            let id = try r.int()
            let ttl = try r.int()
            let remaining = try r.int()
            do {
                _ = try self.lessor.grant(id: id, ttl: ttl)
            } catch {
                throw .corrupt
            }
            if remaining > 0 { self.lessor.checkpoint(id, remainingTTL: remaining) }
        }
        // Attach every live key to its lease.
        var attachments: [(Int64, [UInt8])] = []
        index.forEach(from: [], to: []) { ki in
            if let live = ki.live, live.lease != 0 { attachments.append((live.lease, ki.key)) }
            return true
        }
        for (id, key) in attachments { self.lessor.attach(id, key: key) }
        guard r.isAtEnd else { throw .corrupt }
        sizeEstimate = approximateSize()
    }
}

/// Why a snapshot could not be read.
public enum SnapshotError: Error, Sendable, Hashable {
    /// Not a store snapshot.
    case badFormat
    /// A snapshot from a newer format version.
    case unsupportedVersion
    /// Truncated or inconsistent data.
    case corrupt
}

/// Appends fixed-width little-endian integers and length-prefixed bytes.
struct SnapshotWriter {
    var bytes: [UInt8] = []

    mutating func int(_ v: Int64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func data(_ d: [UInt8]) {
        int(Int64(d.count))
        bytes.append(contentsOf: d)
    }
}

/// Reads what `SnapshotWriter` wrote, refusing to run past the end.
struct SnapshotReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ n: Int) throws(SnapshotError) -> [UInt8] {
        guard n >= 0, n <= bytes.count - offset else { throw .corrupt }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func int() throws(SnapshotError) -> Int64 {
        guard bytes.count - offset >= 8 else { throw .corrupt }
        let raw = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int64.self) }
        offset += 8
        return Int64(littleEndian: raw)
    }

    /// A length or count: non-negative and no larger than the bytes left,
    /// so a corrupt count cannot make a loop run away.
    mutating func count() throws(SnapshotError) -> Int {
        let n = try int()
        guard n >= 0, n <= Int64(bytes.count - offset) else { throw .corrupt }
        return Int(n)
    }

    mutating func data() throws(SnapshotError) -> [UInt8] {
        try take(try count())
    }
}
