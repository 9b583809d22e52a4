/// Which key changed at each revision, oldest first: the store's journal,
/// used to replay history to watchers without scanning the whole key index.
///
/// Holds only the revision and the key (whose buffer is shared with the
/// index); the versions themselves live in the key's `KeyIndex`.
struct RevisionLog: Sendable {
    struct Record: Sendable, Hashable {
        var revision: Revision
        var key: [UInt8]
    }

    private(set) var records: [Record] = []

    var count: Int { records.count }

    mutating func append(_ revision: Revision, _ key: [UInt8]) {
        records.append(Record(revision: revision, key: key))
    }

    /// Drops the newest `n` records (a failed transaction's).
    mutating func removeLast(_ n: Int) {
        records.removeLast(min(n, records.count))
    }

    /// Index of the first record with main revision `>= main`.
    func firstIndex(atOrAfter main: Int64) -> Int {
        var low = 0
        var high = records.count
        while low < high {
            let mid = (low + high) / 2
            if records[mid].revision.main < main {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// Forgets every record at or below main revision `main` (compaction).
    mutating func removeThrough(main: Int64) {
        let n = firstIndex(atOrAfter: main + 1)
        if n > 0 { records.removeSubrange(0..<n) }
    }
}
