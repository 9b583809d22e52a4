/// The elements of one leaf or branch page being filled, and their encoding
/// in bbolt's layout: the 16-byte page header, one 16-byte element per
/// key, then the keys (and, in a leaf, values) back to back. Each element's
/// `pos` is the offset of its key from the element itself.
///
/// A page that needs more than `pageSize` bytes spans several pages
/// (`overflow` in its header), as bbolt stores a large value.
struct BoltPageBuilder {
    let isLeaf: Bool
    private var elements: [Element] = []
    private var data: [UInt8] = []
    /// The first key, which the parent branch page refers to this page by.
    private(set) var firstKey: [UInt8] = []

    private struct Element {
        var flags: UInt32
        var keySize: UInt32
        var valueSize: UInt32
        var child: UInt64
    }

    init(isLeaf: Bool) { self.isLeaf = isLeaf }

    var isEmpty: Bool { elements.isEmpty }
    var count: Int { elements.count }
    /// Bytes the encoded page needs.
    var size: Int { BoltLayout.pageHeaderSize + elements.count * BoltLayout.elementSize + data.count }

    /// What an element adds to a page's size.
    static func elementSize(keyCount: Int, valueCount: Int) -> Int {
        BoltLayout.elementSize + keyCount + valueCount
    }

    /// Whether another element can go on this page (a page header holds a
    /// 16-bit count).
    var hasRoomForCount: Bool { elements.count < Int(UInt16.max) - 1 }

    mutating func appendLeaf(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: UInt32) {
        if elements.isEmpty { firstKey = Array(key) }
        elements.append(Element(flags: flags, keySize: UInt32(key.count), valueSize: UInt32(value.count), child: 0))
        data.append(contentsOf: key)
        data.append(contentsOf: value)
    }

    mutating func appendBranch(key: [UInt8], child: UInt64) {
        if elements.isEmpty { firstKey = key }
        elements.append(Element(flags: 0, keySize: UInt32(key.count), valueSize: 0, child: child))
        data.append(contentsOf: key)
    }

    /// The page (and its overflow pages) as page `id`, zero-padded to whole pages.
    func encode(id: UInt64, pageSize: Int) -> [UInt8] {
        let pages = max(1, (size + pageSize - 1) / pageSize)
        var bytes = [UInt8](repeating: 0, count: pages * pageSize)
        let header = BoltPageHeader(
            id: id, flags: isLeaf ? BoltLayout.PageFlag.leaf : BoltLayout.PageFlag.branch,
            count: UInt16(elements.count), overflow: UInt32(pages - 1))
        header.encode(into: &bytes, at: 0)
        var dataOffset = BoltLayout.pageHeaderSize + elements.count * BoltLayout.elementSize
        for (i, element) in elements.enumerated() {
            let at = BoltLayout.pageHeaderSize + i * BoltLayout.elementSize
            let pos = UInt32(dataOffset - at)
            if isLeaf {
                BoltBytes.store(element.flags, into: &bytes, at: at)
                BoltBytes.store(pos, into: &bytes, at: at + 4)
                BoltBytes.store(element.keySize, into: &bytes, at: at + 8)
                BoltBytes.store(element.valueSize, into: &bytes, at: at + 12)
            } else {
                BoltBytes.store(pos, into: &bytes, at: at)
                BoltBytes.store(element.keySize, into: &bytes, at: at + 4)
                BoltBytes.store(element.child, into: &bytes, at: at + 8)
            }
            dataOffset += Int(element.keySize) + Int(element.valueSize)
        }
        let dataStart = BoltLayout.pageHeaderSize + elements.count * BoltLayout.elementSize
        bytes.withUnsafeMutableBytes { out in
            data.withUnsafeBytes { src in
                if let base = src.baseAddress, !src.isEmpty {
                    out.baseAddress?.advanced(by: dataStart).copyMemory(from: base, byteCount: src.count)
                }
            }
        }
        return bytes
    }

    mutating func reset() {
        elements.removeAll(keepingCapacity: true)
        data.removeAll(keepingCapacity: true)
        firstKey = []
    }
}
