import Storage

/// What `etcdctl snapshot status` reports about a snapshot file, computed
/// the same way (clientv3/snapshot's `Status`): a CRC-32C over every
/// bucket's name followed by its keys and values in order, the main
/// revision of the last `key` record, the number of records in all
/// buckets, and the database's size (high-water mark × page size). The
/// SHA-256 trailer is not checked, as etcdctl does not check it.
public struct SnapshotStatus: Sendable, Equatable {
    public var hash: UInt32
    public var revision: Int64
    public var totalKey: Int
    public var totalSize: Int

    public init(path: String) throws {
        let fileSystem = POSIXFileSystem()
        guard fileSystem.exists(path) else { throw SnapshotToolError("stat \(path): no such file or directory") }
        let file = try fileSystem.open(path, mode: .readOnly)
        defer { file.close() }
        let reader = try BoltReader(file: file)
        var crc: UInt32 = 0
        var revision: Int64 = 0
        var total = 0
        for name in try reader.bucketNames() {
            crc = CRC32C.update(crc, name)
            let isKeyBucket = name == EtcdBoltLayout.Bucket.key
            try reader.forEach(inBucket: name) { key, value in
                crc = CRC32C.update(crc, key)
                crc = CRC32C.update(crc, value)
                if isKeyBucket, key.count >= 8, let main = MVCCBackend.decodeInt64(Array(key[0..<8])) {
                    revision = main
                }
                total += 1
                return true
            }
        }
        hash = crc
        self.revision = revision
        totalKey = total
        totalSize = reader.size
    }

    /// etcdctl's `-w json`.
    public var json: String {
        "{\"hash\":\(hash),\"revision\":\(revision),\"totalKey\":\(totalKey),\"totalSize\":\(totalSize)}"
    }

    /// etcdctl's default (`simple`) output.
    public var simple: String { row.joined(separator: ", ") }

    /// etcdctl's `-w table`: the tablewriter box with right-aligned cells.
    public var table: String {
        let header = ["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"]
        let cells = row
        let widths = zip(header, cells).map { max($0.count, $1.count) + 2 }
        let line = "+" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "+") + "+"
        func render(_ values: [String], center: Bool) -> String {
            "|"
                + zip(values, widths).map { value, width in
                    let pad = width - 2 - value.count
                    if center {
                        let left = pad / 2
                        return " " + String(repeating: " ", count: left) + value
                            + String(repeating: " ", count: pad - left) + " "
                    }
                    return " " + String(repeating: " ", count: pad) + value + " "
                }.joined(separator: "|") + "|"
        }
        return [line, render(header, center: true), line, render(cells, center: false), line].joined(separator: "\n")
    }

    private var row: [String] {
        [String(hash, radix: 16), String(revision), String(totalKey), Self.humanize(totalSize)]
    }

    /// go-humanize's `Bytes`: SI units, one decimal below 10.
    static func humanize(_ bytes: Int) -> String {
        guard bytes >= 10 else { return "\(bytes) B" }
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var exponent = 0
        var scaled = Double(bytes)
        while scaled >= 1000 && exponent < units.count - 1 {
            scaled /= 1000
            exponent += 1
        }
        let rounded = (scaled * 10 + 0.5).rounded(.down) / 10
        if rounded >= 10 { return "\(Int(rounded.rounded(.toNearestOrEven))) \(units[exponent])" }
        let tenths = Int((rounded * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[exponent])"
    }
}
