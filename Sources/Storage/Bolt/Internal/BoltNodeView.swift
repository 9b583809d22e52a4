/// One leaf or branch page as read from a file, with every element's
/// offsets checked against the page's bytes when the view is made, so the
/// accessors cannot run out of bounds.
struct BoltNodeView {
    let isLeaf: Bool
    let count: Int
    private var leaves: [Leaf] = []
    private var children: [UInt64] = []

    struct Leaf {
        var flags: UInt32
        var key: Range<Int>
        var value: Range<Int>
    }

    init(_ bytes: [UInt8], page: UInt64, path: String) throws(BoltError) {
        guard let header = BoltPageHeader(bytes) else {
            throw .corrupt(path: path, page: page, reason: "page shorter than its header")
        }
        switch header.flags {
        case BoltLayout.PageFlag.leaf: isLeaf = true
        case BoltLayout.PageFlag.branch: isLeaf = false
        default:
            throw .corrupt(path: path, page: page, reason: "expected a leaf or branch page, found flags \(header.flags)")
        }
        count = Int(header.count)
        let elementsEnd = BoltLayout.pageHeaderSize + count * BoltLayout.elementSize
        guard elementsEnd <= bytes.count else {
            throw .corrupt(path: path, page: page, reason: "\(count) elements do not fit in the page")
        }
        if !isLeaf && count == 0 {
            throw .corrupt(path: path, page: page, reason: "empty branch page")
        }
        for i in 0..<count {
            let at = BoltLayout.pageHeaderSize + i * BoltLayout.elementSize
            if isLeaf {
                let flags = BoltBytes.load(UInt32.self, bytes, at: at)
                let pos = Int(BoltBytes.load(UInt32.self, bytes, at: at + 4))
                let keySize = Int(BoltBytes.load(UInt32.self, bytes, at: at + 8))
                let valueSize = Int(BoltBytes.load(UInt32.self, bytes, at: at + 12))
                let start = at + pos
                guard keySize > 0, start >= elementsEnd, start + keySize + valueSize <= bytes.count else {
                    throw .corrupt(path: path, page: page, reason: "leaf element \(i) points outside the page")
                }
                leaves.append(Leaf(flags: flags, key: start..<start + keySize, value: start + keySize..<start + keySize + valueSize))
            } else {
                let pos = Int(BoltBytes.load(UInt32.self, bytes, at: at))
                let keySize = Int(BoltBytes.load(UInt32.self, bytes, at: at + 4))
                let child = BoltBytes.load(UInt64.self, bytes, at: at + 8)
                let start = at + pos
                guard start >= elementsEnd, start + keySize <= bytes.count else {
                    throw .corrupt(path: path, page: page, reason: "branch element \(i) points outside the page")
                }
                children.append(child)
            }
        }
    }

    func leafElement(_ i: Int) -> Leaf { leaves[i] }

    func branchChild(_ i: Int) -> UInt64 { children[i] }
}
