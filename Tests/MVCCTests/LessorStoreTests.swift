import Testing
@testable import MVCC

/// Leases working together with the key-value store.
@Suite struct LessorStoreTests {
    typealias F = KVFixture

    private static func store(_ clock: ManualLeaseClock = ManualLeaseClock()) -> KVStore {
        KVStore(lessor: Lessor(clock: clock))
    }

    @Test func putWithAnUnknownLeaseFailsAndWritesNothing() throws {
        var s = Self.store()
        _ = try s.grantLease(id: 1, ttl: 10)
        #expect(throws: MVCCError.leaseNotFound) { try F.put(&s, "a", "v", lease: 2) }
        #expect(throws: MVCCError.leaseNotFound) {
            try s.txn(TxnRequest(success: [
                .put(PutRequest(key: F.b("b"), value: F.b("1"))),
                .put(PutRequest(key: F.b("c"), value: F.b("1"), lease: 3)),
            ]))
        }
        #expect(s.currentRevision == 1)
        #expect(try s.range(RangeRequest(key: [0], rangeEnd: [0])).count == 0)
        try F.put(&s, "a", "v", lease: 1)
        #expect(try F.get(s, "a")?.lease == 1)
    }

    @Test func putsAttachAndDetachKeys() throws {
        var s = Self.store()
        _ = try s.grantLease(id: 1, ttl: 10)
        _ = try s.grantLease(id: 2, ttl: 10)
        try F.put(&s, "a", "1", lease: 1)
        try F.put(&s, "b", "1", lease: 1)
        try F.put(&s, "c", "1", lease: 1)
        #expect(try s.leaseTimeToLive(1, keys: true).keys == [F.b("a"), F.b("b"), F.b("c")])
        try F.put(&s, "a", "2")  // no lease: detached
        try F.put(&s, "b", "2", lease: 2)  // other lease: moved
        _ = try s.put(PutRequest(key: F.b("c"), value: F.b("2"), ignoreLease: true))  // keeps lease 1
        #expect(try s.leaseTimeToLive(1, keys: true).keys == [F.b("c")])
        #expect(try s.leaseTimeToLive(2, keys: true).keys == [F.b("b")])
        #expect(try F.get(s, "c")?.lease == 1)
        _ = s.deleteRange(DeleteRangeRequest(key: F.b("c")))
        #expect(try s.leaseTimeToLive(1, keys: true).keys.isEmpty)
        #expect(try s.leaseTimeToLive(1).keys.isEmpty)
    }

    @Test func revokeDeletesAttachedKeysInOneRevision() throws {
        var s = Self.store()
        _ = try s.grantLease(id: 5, ttl: 10)
        try F.put(&s, "z", "1", lease: 5)  // 2
        try F.put(&s, "keep", "1")  // 3
        try F.put(&s, "a", "1", lease: 5)  // 4
        _ = try s.txn(TxnRequest(success: [.put(PutRequest(key: F.b("m"), value: F.b("1"), lease: 5))]))  // 5
        let (revision, events) = try s.revokeLease(5)
        #expect(revision == 6)
        #expect(s.currentRevision == 6)
        #expect(events.map(\.kind) == [.delete, .delete, .delete])
        #expect(events.map(\.kv.key) == [F.b("a"), F.b("m"), F.b("z")])
        #expect(events.allSatisfy { $0.kv.modRevision == 6 && $0.prevKv?.lease == 5 })
        #expect(F.keys(try s.range(RangeRequest(key: [0], rangeEnd: [0]))) == ["keep"])
        #expect(s.lessor.lookup(5) == nil)
        #expect(throws: MVCCError.leaseNotFound) { try s.revokeLease(5) }
        #expect(throws: MVCCError.leaseNotFound) { try F.put(&s, "x", "1", lease: 5) }
        // The revocation is history like any delete.
        #expect(try s.events(in: KeyRange(key: [0], rangeEnd: [0]), from: 6, to: 6).count == 3)
    }

    @Test func revokingALeaseWithoutKeysMakesNoRevision() throws {
        var s = Self.store()
        _ = try s.grantLease(id: 5, ttl: 10)
        try F.put(&s, "a", "1", lease: 5)
        try F.put(&s, "a", "2")  // detached again
        let (revision, events) = try s.revokeLease(5)
        #expect(revision == 3 && events.isEmpty)
        #expect(try F.get(s, "a")?.value == F.b("2"))
    }

    @Test func aRolledBackTxnLeavesAttachmentsAlone() throws {
        var s = Self.store()
        _ = try s.grantLease(id: 1, ttl: 10)
        try F.put(&s, "a", "1")
        let req = TxnRequest(success: [
            .put(PutRequest(key: F.b("n"), value: F.b("1"), lease: 1)),
            .deleteRange(DeleteRangeRequest(key: F.b("a"))),
            .put(PutRequest(key: F.b("a"), ignoreValue: true)),
        ])
        #expect(throws: MVCCError.keyNotFound) { try s.txn(req) }
        #expect(try s.leaseTimeToLive(1, keys: true).keys.isEmpty)
    }

    @Test func expiredLeasesAreReportedThenRevokedByTheCaller() throws {
        let clock = ManualLeaseClock()
        var s = Self.store(clock)
        _ = try s.grantLease(id: 9, ttl: 1)  // raised to 2
        try F.put(&s, "k", "v", lease: 9)
        clock.advance(by: .seconds(1))
        #expect(s.expiredLeases().isEmpty)
        clock.advance(by: .seconds(1))
        let expired = s.expiredLeases()
        #expect(expired == [9])
        #expect(try F.get(s, "k") != nil)  // reporting deletes nothing
        for id in expired { _ = try s.revokeLease(id) }
        #expect(try F.get(s, "k") == nil)
        #expect(s.leases().isEmpty)
    }

    @Test func keepAliveThroughTheStore() throws {
        let clock = ManualLeaseClock()
        var s = Self.store(clock)
        _ = try s.grantLease(id: 3, ttl: 4)
        clock.advance(by: .seconds(3))
        #expect(try s.renewLease(3) == 4)
        clock.advance(by: .seconds(3))
        #expect(s.expiredLeases().isEmpty)
        #expect(try s.leaseTimeToLive(3).ttl == 1)
        s.demoteLessor()
        clock.advance(by: .seconds(10))
        #expect(s.expiredLeases().isEmpty)
        s.promoteLessor(extend: .seconds(1))
        #expect(try s.leaseTimeToLive(3).ttl == 5)
    }

    @Test func compareOnLease() throws {
        var s = Self.store()
        _ = try s.grantLease(id: 4, ttl: 10)
        try F.put(&s, "a", "1", lease: 4)
        let (resp, _) = try s.txn(TxnRequest(compare: [Compare(key: F.b("a"), target: .lease(4), result: .equal)]))
        #expect(resp.succeeded)
    }

    @Test func revokingALeaseSparesKeysThatMovedAway() throws {
        var s = Self.store()
        _ = try s.grantLease(id: 1, ttl: 30)
        _ = try s.grantLease(id: 2, ttl: 30)
        try F.put(&s, "moved", "v", lease: 1)
        try F.put(&s, "moved", "v", lease: 2)
        try F.put(&s, "cleared", "v", lease: 1)
        try F.put(&s, "cleared", "v")
        try F.put(&s, "stays", "v", lease: 1)
        let (_, events) = try s.revokeLease(1)
        #expect(events.map(\.kv.key) == [F.b("stays")])
        #expect(try F.get(s, "moved")?.lease == 2)
        #expect(try F.get(s, "cleared") != nil)
        #expect(try s.leaseTimeToLive(2, keys: true).keys == [F.b("moved")])
    }
}
