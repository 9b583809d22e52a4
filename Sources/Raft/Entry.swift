/// One slot of the replicated log.
public struct Entry: Sendable, Hashable {
    /// The leader term in which the entry was created.
    public var term: UInt64
    /// Position in the log, starting at 1.
    public var index: UInt64
    public var type: EntryType
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, type: EntryType = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.type = type
        self.data = data
    }

    /// Approximate in-memory/wire size, used for flow control (max bytes per message).
    public var byteSize: UInt64 { UInt64(data.count) + 24 }
}

extension Array where Element == Entry {
    /// Total `byteSize` of the entries.
    var byteSize: UInt64 { reduce(0) { $0 + $1.byteSize } }

    /// The longest prefix whose size stays within `maxBytes`, always keeping at least one
    /// entry so that a single oversized entry can still make progress.
    func limited(toBytes maxBytes: UInt64) -> [Entry] {
        guard count > 1 else { return self }
        var size: UInt64 = 0
        for (offset, entry) in enumerated() {
            size += entry.byteSize
            if size > maxBytes { return Array(self[..<Swift.max(offset, 1)]) }
        }
        return self
    }
}
