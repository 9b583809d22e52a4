import Testing
@testable import MVCC

/// The sorted key index under many keys: splits, removals and seeks must
/// agree with a plain sorted array.
@Suite struct KVStoreIndexTests {
    /// Deterministic pseudo-random keys (xorshift), so failures reproduce.
    private struct Keys {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next() -> [UInt8] {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let n = Int(state % 5_000)
            return Array("k\(n)".utf8)
        }
    }

    @Test func insertsRemovalsAndSeeksMatchASortedArray() {
        var index = TreeIndex()
        var reference = Set<[UInt8]>()
        var keys = Keys()
        var main: Int64 = 2
        for step in 0..<20_000 {
            let key = keys.next()
            if step % 3 == 2 && reference.contains(key) {
                // Undo the key's only write: the index must forget it.
                index.modify(key) { ki in
                    while let last = ki.entries.last { ki.removeEntries(atMain: last.revision.main) }
                }
                reference.remove(key)
            } else if !reference.contains(key) {
                index.modify(key) { $0.put(at: Revision(main: main), value: [], lease: 0) }
                reference.insert(key)
            }
            main += 1
        }
        let sorted = reference.sorted { Bytes.less($0, $1) }
        #expect(index.count == sorted.count)
        var visited: [[UInt8]] = []
        index.forEach(from: [], to: []) { visited.append($0.key); return true }
        #expect(visited == sorted)
        // Seeks land on the first key >= the probe, and stop before the end.
        var bounded: [[UInt8]] = []
        index.forEach(from: Array("k2".utf8), to: Array("k3".utf8)) { bounded.append($0.key); return true }
        #expect(bounded == sorted.filter { !Bytes.less($0, Array("k2".utf8)) && Bytes.less($0, Array("k3".utf8)) })
        for key in sorted.prefix(50) { #expect(index[key]?.key == key) }
        #expect(index[Array("absent".utf8)] == nil)
    }

    @Test func liveCountsMatchAKeyByKeyCount() {
        var index = TreeIndex()
        var keys = Keys()
        var main: Int64 = 2
        for step in 0..<20_000 {
            let key = keys.next()
            index.modify(key) { ki in
                if step % 4 == 3 {
                    ki.tombstone(at: Revision(main: main))
                } else if step % 7 == 6, let last = ki.entries.last {
                    ki.removeEntries(atMain: last.revision.main)
                } else {
                    ki.put(at: Revision(main: main), value: [], lease: 0)
                }
            }
            main += 1
        }
        func slowCount(_ from: String, _ to: String) -> Int {
            var n = 0
            index.forEach(from: Array(from.utf8), to: Array(to.utf8)) { ki in
                if ki.live != nil { n += 1 }
                return true
            }
            return n
        }
        let bounds = [("", ""), ("k1", "k2"), ("k1", ""), ("k", "k0"), ("k2", "k1"), ("k42", "k42"), ("k123", "k9999"), ("z", "")]
        for (from, to) in bounds {
            #expect(index.countLive(from: Array(from.utf8), to: Array(to.utf8)) == slowCount(from, to), "\(from)..<\(to)")
        }
        #expect(index.liveCount == slowCount("", ""))
        index.compact(atRev: main / 2)
        #expect(index.liveCount == slowCount("", ""))
        #expect(index.countLive(from: Array("k3".utf8), to: Array("k4".utf8)) == slowCount("k3", "k4"))
    }

    @Test func compactionRepacksTheIndex() {
        var index = TreeIndex()
        for i in 0..<3_000 {
            let key = Array("key\(i)".utf8)
            index.modify(key) { ki in
                ki.put(at: Revision(main: Int64(2 + 2 * i)), value: [], lease: 0)
                if i % 2 == 0 { ki.tombstone(at: Revision(main: Int64(3 + 2 * i))) }
            }
        }
        index.compact(atRev: 10_000)
        #expect(index.count == 1_500)
        var n = 0
        index.forEach(from: [], to: []) { ki in
            n += 1
            return ki.live != nil
        }
        #expect(n == 1_500)
    }

    @Test func byteOrderIsUnsignedAndPrefixFirst() {
        #expect(Bytes.less([0x61], [0x61, 0x00]))
        #expect(Bytes.less([0x7f], [0x80]))
        #expect(Bytes.compare([], []) == 0)
        #expect(Bytes.less([], [0]))
    }
}
