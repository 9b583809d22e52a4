/// The store's sorted key index (etcd's `treeIndex`, which uses a B-tree):
/// every key the store has history for, in byte order, each with its
/// `KeyIndex`.
///
/// It is a two-level B+-tree-like layout: a sorted array of *chunks*, each a
/// sorted array of at most `maxChunk` key indexes. A seek is two binary
/// searches; an insert or removal shifts at most one chunk plus, when a chunk
/// splits or empties, the (short) chunk array. With a million keys that is a
/// few thousand chunks of a few hundred entries, so every operation touches
/// a few kilobytes at most. Being arrays of values, the whole index has value
/// semantics with copy-on-write per chunk.
///
/// Each chunk also keeps how many of its keys are live (not deleted), so
/// counting the live keys of a range at the newest revision (what a range
/// with a limit must report as `count`) adds up whole chunks instead of
/// visiting every key.
struct TreeIndex: Sendable {
    /// Chunks split when they reach this size.
    static let maxChunk = 512

    private var chunks: [[KeyIndex]] = []
    /// Live keys per chunk, parallel to `chunks`.
    private var liveCounts: [Int] = []
    private(set) var count = 0
    /// Keys that currently exist, over the whole index.
    private(set) var liveCount = 0

    init() {}

    /// A position in the index: chunk, then slot inside the chunk.
    struct Position: Sendable, Equatable {
        var chunk: Int
        var slot: Int
    }

    /// First position whose key is `>= key` (may be the end position).
    func lowerBound(_ key: [UInt8]) -> Position {
        // Through unsafe buffers: the search only borrows keys, so it does
        // no reference counting (which otherwise dominates a seek).
        chunks.withUnsafeBufferPointer { cs in
            // First chunk whose last key is >= key.
            var low = 0
            var high = cs.count
            while low < high {
                let mid = (low + high) / 2
                let lastIsLess = cs[mid].withUnsafeBufferPointer { items in
                    items.count > 0 && Bytes.less(items[items.count - 1].key, key)
                }
                if lastIsLess {
                    low = mid + 1
                } else {
                    high = mid
                }
            }
            guard low < cs.count else { return Position(chunk: cs.count, slot: 0) }
            let slot = cs[low].withUnsafeBufferPointer { items in
                var lo = 0
                var hi = items.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if Bytes.less(items[mid].key, key) {
                        lo = mid + 1
                    } else {
                        hi = mid
                    }
                }
                return lo
            }
            return Position(chunk: low, slot: slot)
        }
    }

    private func isMatch(_ p: Position, _ key: [UInt8]) -> Bool {
        p.chunk < chunks.count && p.slot < chunks[p.chunk].count && chunks[p.chunk][p.slot].key == key
    }

    subscript(key: [UInt8]) -> KeyIndex? {
        let p = lowerBound(key)
        return isMatch(p, key) ? chunks[p.chunk][p.slot] : nil
    }

    /// Runs `body` on the key's index in place, creating an empty one first
    /// when the key is new; removes the key again if `body` leaves it empty.
    @discardableResult
    mutating func modify<R>(_ key: [UInt8], _ body: (inout KeyIndex) -> R) -> R {
        var p = lowerBound(key)
        if !isMatch(p, key) {
            p = insert(KeyIndex(key: key), at: p)
        }
        let wasLive = chunks[p.chunk][p.slot].live != nil
        let result = body(&chunks[p.chunk][p.slot])
        let isLive = chunks[p.chunk][p.slot].live != nil
        if wasLive != isLive {
            let delta = isLive ? 1 : -1
            liveCounts[p.chunk] += delta
            liveCount += delta
        }
        if chunks[p.chunk][p.slot].isEmpty {
            remove(at: p)
        }
        return result
    }

    /// Runs `body` on the key's index in place if the key is known, for
    /// changes that never alter whether it is live (releasing a value).
    mutating func modifyExisting(_ key: [UInt8], _ body: (inout KeyIndex) -> Void) {
        let p = lowerBound(key)
        guard isMatch(p, key) else { return }
        body(&chunks[p.chunk][p.slot])
    }

    private mutating func insert(_ item: KeyIndex, at p: Position) -> Position {
        // The new key has no history yet, so it is not live: counts are
        // adjusted by `modify` once its first entry is written.
        count += 1
        if chunks.isEmpty {
            chunks.append([item])
            liveCounts.append(0)
            return Position(chunk: 0, slot: 0)
        }
        // A key past every chunk's last key joins the last chunk.
        var p = p
        if p.chunk == chunks.count {
            p = Position(chunk: chunks.count - 1, slot: chunks[chunks.count - 1].count)
        }
        chunks[p.chunk].insert(item, at: p.slot)
        guard chunks[p.chunk].count >= Self.maxChunk else { return p }
        // Split the full chunk in two halves.
        let half = chunks[p.chunk].count / 2
        let upper = Array(chunks[p.chunk][half...])
        chunks[p.chunk].removeSubrange(half...)
        chunks.insert(upper, at: p.chunk + 1)
        let upperLive = Self.live(in: upper)
        liveCounts[p.chunk] -= upperLive
        liveCounts.insert(upperLive, at: p.chunk + 1)
        return p.slot < half ? p : Position(chunk: p.chunk + 1, slot: p.slot - half)
    }

    private mutating func remove(at p: Position) {
        // Only an empty (hence not live) key index is ever removed.
        count -= 1
        chunks[p.chunk].remove(at: p.slot)
        if chunks[p.chunk].isEmpty {
            chunks.remove(at: p.chunk)
            liveCounts.remove(at: p.chunk)
        }
    }

    private static func live(in chunk: [KeyIndex]) -> Int {
        var n = 0
        for item in chunk where item.live != nil { n += 1 }
        return n
    }

    /// Number of live keys with `key <= k < end` (`end` empty: no upper
    /// bound): whole chunks by their counts, only the two ends key by key.
    func countLive(from key: [UInt8], to end: [UInt8]) -> Int {
        if !end.isEmpty && !Bytes.less(key, end) { return 0 }
        let start = lowerBound(key)
        let stop = end.isEmpty ? Position(chunk: chunks.count, slot: 0) : lowerBound(end)
        guard start.chunk < chunks.count else { return 0 }
        if start.chunk == stop.chunk {
            return Self.live(in: chunks[start.chunk], slots: start.slot..<stop.slot)
        }
        var n = Self.live(in: chunks[start.chunk], slots: start.slot..<chunks[start.chunk].count)
        var c = start.chunk + 1
        while c < stop.chunk && c < chunks.count {
            n += liveCounts[c]
            c += 1
        }
        if stop.chunk < chunks.count {
            n += Self.live(in: chunks[stop.chunk], slots: 0..<stop.slot)
        }
        return n
    }

    private static func live(in chunk: [KeyIndex], slots: Range<Int>) -> Int {
        guard !slots.isEmpty else { return 0 }
        var n = 0
        for i in slots where chunk[i].live != nil { n += 1 }
        return n
    }

    /// Visits, in key order, the key indexes with `key <= k < end` (`end`
    /// empty: no upper bound) until `body` returns false.
    func forEach(from key: [UInt8], to end: [UInt8], _ body: (KeyIndex) -> Bool) {
        var p = lowerBound(key)
        while p.chunk < chunks.count {
            let chunk = chunks[p.chunk]
            while p.slot < chunk.count {
                let item = chunk[p.slot]
                if !end.isEmpty && !Bytes.less(item.key, end) { return }
                if !body(item) { return }
                p.slot += 1
            }
            p = Position(chunk: p.chunk + 1, slot: 0)
        }
    }

    /// Compacts the keys of whole chunks from the one holding `key` on, at
    /// least `maxKeys` keys, forgetting keys left without history (etcd's
    /// incremental compaction, issue 19406: a bounded slice per call, so
    /// requests are served between slices). Returns the bytes of history
    /// dropped and the key to continue from, or nil when the end is reached.
    /// Keys inserted meanwhile only hold revisions above `atRev`, so the
    /// slices cover every key that needs it.
    mutating func compactSlice(atRev: Int64, from key: [UInt8], maxKeys: Int, cost: (KeyIndex) -> Int64)
        -> (dropped: Int64, next: [UInt8]?)
    {
        var c = lowerBound(key).chunk
        var visited = 0
        var dropped: Int64 = 0
        while c < chunks.count && visited < maxKeys {
            var chunk = chunks[c]
            chunks[c] = []  // unique, so the key indexes compact in place
            visited += chunk.count
            var kept: [KeyIndex] = []
            kept.reserveCapacity(chunk.count)
            for i in chunk.indices {
                var item = chunk[i]
                chunk[i] = KeyIndex(key: [])
                let before = cost(item)
                item.compact(atRev: atRev)
                dropped += before - cost(item)
                if item.isEmpty { continue }
                kept.append(item)
            }
            count -= chunk.count - kept.count
            if kept.isEmpty {
                chunks.remove(at: c)
                liveCount -= liveCounts.remove(at: c)
            } else {
                let live = Self.live(in: kept)
                liveCount += live - liveCounts[c]
                liveCounts[c] = live
                chunks[c] = kept
                c += 1
            }
        }
        guard c < chunks.count, let first = chunks[c].first else { return (dropped, nil) }
        return (dropped, first.key)
    }

    /// Compacts every key's history at `atRev`, forgets keys left without
    /// history, and re-packs the chunks (compaction can empty many).
    mutating func compact(atRev: Int64) {
        let target = Self.maxChunk / 2
        var packed: [[KeyIndex]] = []
        var current: [KeyIndex] = []
        current.reserveCapacity(target)
        var survivors = 0
        // Move everything out so each chunk and key index is uniquely
        // referenced and compacts in place rather than being copied.
        var old = chunks
        chunks = []
        for c in old.indices {
            var chunk = old[c]
            old[c] = []
            for i in chunk.indices {
                var item = chunk[i]
                chunk[i] = KeyIndex(key: [])
                item.compact(atRev: atRev)
                guard !item.isEmpty else { continue }
                current.append(item)
                survivors += 1
                if current.count == target {
                    packed.append(current)
                    current = []
                    current.reserveCapacity(target)
                }
            }
        }
        if !current.isEmpty { packed.append(current) }
        chunks = packed
        liveCounts = packed.map { Self.live(in: $0) }
        liveCount = liveCounts.reduce(0, +)
        count = survivors
    }
}
