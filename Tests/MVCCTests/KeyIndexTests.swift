import Testing
@testable import MVCC

@Suite struct KeyIndexTests {
    private static func rev(_ main: Int64, _ sub: Int64 = 0) -> Revision { Revision(main: main, sub: sub) }

    /// put@2, put@4, tombstone@6, put@8, put@9 — two generations.
    private static func sample() -> KeyIndex {
        var ki = KeyIndex(key: Array("k".utf8))
        ki.put(at: rev(2), value: [2], lease: 0)
        ki.put(at: rev(4), value: [4], lease: 7)
        let ended = ki.tombstone(at: rev(6))
        #expect(ended)
        ki.put(at: rev(8), value: [8], lease: 0)
        ki.put(at: rev(9, 1), value: [9], lease: 0)
        return ki
    }

    @Test func getWalksGenerations() {
        let ki = Self.sample()
        #expect(ki.get(atRev: 1) == nil)
        #expect(ki.get(atRev: 2)?.version == 1)
        #expect(ki.get(atRev: 3)?.value == [2])
        let four = ki.get(atRev: 5)
        #expect(four?.version == 2 && four?.createRevision == 2 && four?.lease == 7)
        #expect(ki.get(atRev: 6) == nil)
        #expect(ki.get(atRev: 7) == nil)
        let eight = ki.get(atRev: 8)
        #expect(eight?.version == 1 && eight?.createRevision == 8)
        #expect(ki.get(atRev: 100)?.version == 2)
        #expect(ki.live?.revision == Self.rev(9, 1))
    }

    @Test func tombstoneOfADeletedKeyIsNotAChange() {
        var ki = KeyIndex(key: [1])
        let onEmpty = ki.tombstone(at: Self.rev(2))
        #expect(!onEmpty)
        #expect(ki.isEmpty)
        ki.put(at: Self.rev(3), value: [], lease: 0)
        let onLive = ki.tombstone(at: Self.rev(4))
        let again = ki.tombstone(at: Self.rev(5))
        #expect(onLive && !again)
        #expect(ki.entries.count == 2)
    }

    @Test func entryAtExactRevision() {
        let ki = Self.sample()
        #expect(ki.entry(at: Self.rev(9, 1))?.value == [9])
        #expect(ki.entry(at: Self.rev(9, 0)) == nil)
        #expect(ki.entry(at: Self.rev(6))?.isTombstone == true)
        #expect(ki.entry(at: Self.rev(5)) == nil)
    }

    @Test func compactKeepsTheNewestVersionAtOrBelowTheRevision() {
        var ki = Self.sample()
        ki.compact(atRev: 5)
        #expect(ki.entries.map(\.revision.main) == [4, 6, 8, 9])
        #expect(ki.get(atRev: 5)?.value == [4])
        #expect(ki.get(atRev: 5)?.version == 2)  // version survives compaction
    }

    @Test func compactDropsAGenerationEndedAtOrBelowTheRevision() {
        var ki = Self.sample()
        ki.compact(atRev: 6)
        #expect(ki.entries.map(\.revision.main) == [8, 9])
        var other = Self.sample()
        other.compact(atRev: 7)
        #expect(other.entries.map(\.revision.main) == [8, 9])
        var later = Self.sample()
        later.compact(atRev: 9)
        #expect(later.entries.map(\.revision.main) == [9])
        #expect(later.get(atRev: 9)?.createRevision == 8)
    }

    @Test func compactOfADeletedKeyEmptiesIt() {
        var ki = KeyIndex(key: [1])
        ki.put(at: Self.rev(2), value: [], lease: 0)
        ki.tombstone(at: Self.rev(3))
        ki.compact(atRev: 2)
        #expect(ki.entries.count == 2)
        ki.compact(atRev: 3)
        #expect(ki.isEmpty)
    }

    @Test func removeEntriesUndoesOneRevision() {
        var ki = Self.sample()
        ki.put(at: Self.rev(10, 0), value: [10], lease: 0)
        ki.put(at: Self.rev(10, 1), value: [11], lease: 0)
        ki.removeEntries(atMain: 10)
        #expect(ki.live?.revision == Self.rev(9, 1))
    }
}
