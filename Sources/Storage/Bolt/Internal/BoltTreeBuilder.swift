/// Builds one bucket's B+tree bottom-up from keys given in ascending order
/// (a bulk load): leaves are filled up to a page and written as they fill,
/// each written page is added to the branch page above it, and a branch
/// page that fills is written and added to the level above in turn. Memory
/// is one pending page per level, whatever the number of keys.
///
/// bbolt reads any such tree: it needs sorted keys, each branch element
/// naming its child's first key, and correct page numbers and counts; it
/// rebalances underfilled pages only when a later transaction touches them.
struct BoltTreeBuilder {
    let pageSize: Int
    private var leaf = BoltPageBuilder(isLeaf: true)
    /// Pending branch pages, bottom level first.
    private var branches: [BoltPageBuilder] = []
    /// Pages written per level (leaves first), to know whether a level
    /// holding one pending element is the root.
    private var written: [Int] = [0]
    private var lastKey: [UInt8]?

    init(pageSize: Int) { self.pageSize = pageSize }

    /// Adds a record; `key` must sort after the previous one.
    mutating func append(
        key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: UInt32 = 0, to sink: inout BoltPageSink
    ) throws(BoltError) {
        guard !key.isEmpty else { throw .invalidInput(reason: "empty key") }
        guard key.count <= BoltLayout.maxKeySize else {
            throw .invalidInput(reason: "key of \(key.count) bytes is longer than \(BoltLayout.maxKeySize)")
        }
        guard value.count <= BoltLayout.maxValueSize else {
            throw .invalidInput(reason: "value of \(value.count) bytes is larger than \(BoltLayout.maxValueSize)")
        }
        if let lastKey {
            guard lastKey.lexicographicallyPrecedes(key) else {
                throw .invalidInput(reason: "keys must be given in ascending byte order without duplicates")
            }
        }
        let added = BoltPageBuilder.elementSize(keyCount: key.count, valueCount: value.count)
        if !leaf.isEmpty && (leaf.size + added > pageSize || !leaf.hasRoomForCount) {
            try flushLeaf(to: &sink)
        }
        leaf.appendLeaf(key: key, value: value, flags: flags)
        lastKey = Array(key)
    }

    /// Writes what is pending and returns the root page's number. An empty
    /// bucket gets an empty leaf page as its root, as bbolt's own.
    mutating func finish(to sink: inout BoltPageSink) throws(BoltError) -> UInt64 {
        if written[0] == 0 { return try sink.write(leaf) }
        if !leaf.isEmpty { try flushLeaf(to: &sink) }
        var level = 0
        while level < branches.count {
            let isTop = level == branches.count - 1
            if isTop && written[level + 1] == 0 {
                // Nothing of this level was written yet: its pending page
                // is the root (it holds at least two children, since the
                // level below was flushed at least twice).
                return try sink.write(branches[level])
            }
            if !branches[level].isEmpty { try flushBranch(level, to: &sink) }
            level += 1
        }
        // Unreachable: the top level is never written before finish (a
        // written page goes up into a new level), so the loop returns.
        throw .invalidInput(reason: "internal error: no root page")
    }

    private mutating func flushLeaf(to sink: inout BoltPageSink) throws(BoltError) {
        let id = try sink.write(leaf)
        written[0] += 1
        try add(key: leaf.firstKey, child: id, level: 0, to: &sink)
        leaf.reset()
    }

    private mutating func flushBranch(_ level: Int, to sink: inout BoltPageSink) throws(BoltError) {
        let id = try sink.write(branches[level])
        written[level + 1] += 1
        let key = branches[level].firstKey
        branches[level].reset()
        try add(key: key, child: id, level: level + 1, to: &sink)
    }

    /// Adds a written page to the branch page at `level` (0: above the leaves).
    private mutating func add(key: [UInt8], child: UInt64, level: Int, to sink: inout BoltPageSink) throws(BoltError) {
        if level == branches.count {
            branches.append(BoltPageBuilder(isLeaf: false))
            written.append(0)
        }
        let added = BoltPageBuilder.elementSize(keyCount: key.count, valueCount: 0)
        if !branches[level].isEmpty && (branches[level].size + added > pageSize || !branches[level].hasRoomForCount) {
            try flushBranch(level, to: &sink)
        }
        branches[level].appendBranch(key: key, child: child)
    }
}
