import Testing
@testable import MVCC

@Suite struct LessorTests {
    private static func lessor(_ clock: ManualLeaseClock, primary: Bool = true) -> Lessor {
        Lessor(clock: clock, primary: primary)
    }

    @Test func theMinimumTTLFollowsEtcdsRule() {
        #expect(Lessor.Configuration.minTTL(electionTicks: 10, heartbeat: .milliseconds(100)) == 2)
        #expect(Lessor.Configuration.minTTL(electionTicks: 10, heartbeat: .milliseconds(200)) == 3)
        #expect(Lessor.Configuration.minTTL(electionTicks: 20, heartbeat: .milliseconds(100)) == 3)
        #expect(Lessor.Configuration().minTTL == 2)
    }

    @Test func grantRaisesTTLToTheMinimum() throws {
        var l = Self.lessor(ManualLeaseClock())
        #expect(try l.grant(id: 1, ttl: 1).ttl == 2)
        #expect(try l.grant(id: 2, ttl: 60).ttl == 60)
        var custom = Lessor(clock: ManualLeaseClock(), configuration: .init(minTTL: 5))
        #expect(try custom.grant(id: 1, ttl: 3).ttl == 5)
    }

    @Test func grantRefusesDuplicatesZeroAndHugeTTLs() throws {
        var l = Self.lessor(ManualLeaseClock())
        _ = try l.grant(id: 7, ttl: 10)
        #expect(throws: MVCCError.leaseExists) { try l.grant(id: 7, ttl: 20) }
        #expect(l.lookup(7)?.ttl == 10)
        #expect(throws: MVCCError.leaseNotFound) { try l.grant(id: 0, ttl: 10) }
        #expect(throws: MVCCError.leaseTTLTooLarge) { try l.grant(id: 8, ttl: Lessor.maxTTL + 1) }
        #expect(try l.grant(id: 9, ttl: Lessor.maxTTL).ttl == Lessor.maxTTL)
    }

    @Test func expiryIsReportedOnlyAfterTheTTL() throws {
        let clock = ManualLeaseClock()
        var l = Self.lessor(clock)
        _ = try l.grant(id: 1, ttl: 5)
        _ = try l.grant(id: 2, ttl: 10)
        clock.advance(by: .milliseconds(4_999))
        #expect(l.expiredLeases().isEmpty)
        clock.advance(by: .milliseconds(1))
        #expect(l.expiredLeases() == [1])
        // Reported once per retry interval while its revocation is pending.
        #expect(l.expiredLeases().isEmpty)
        clock.advance(by: .seconds(3))
        #expect(l.expiredLeases().sorted() == [1])
        clock.advance(by: .seconds(2))
        #expect(l.expiredLeases() == [2])
    }

    @Test func expiredLeasesHonoursTheLimit() throws {
        let clock = ManualLeaseClock()
        var l = Self.lessor(clock)
        for id in 1...5 { _ = try l.grant(id: Int64(id), ttl: Int64(10 + id)) }
        clock.advance(by: .seconds(100))
        #expect(l.expiredLeases(limit: 2) == [1, 2])
        #expect(l.expiredLeases(limit: 10) == [3, 4, 5])
    }

    @Test func renewRestartsTheTTL() throws {
        let clock = ManualLeaseClock()
        var l = Self.lessor(clock)
        _ = try l.grant(id: 1, ttl: 10)
        clock.advance(by: .seconds(8))
        #expect(try l.timeToLive(1).ttl == 2)
        #expect(try l.renew(1) == 10)
        clock.advance(by: .seconds(8))
        #expect(l.expiredLeases().isEmpty)
        #expect(try l.timeToLive(1).ttl == 2)
        clock.advance(by: .seconds(2))
        #expect(l.expiredLeases() == [1])
        // An expired lease awaiting revocation cannot be kept alive.
        #expect(throws: MVCCError.leaseNotFound) { try l.renew(1) }
        #expect(throws: MVCCError.leaseNotFound) { try l.renew(99) }
    }

    @Test func timeToLiveReportsWholeSecondsLeftAndTheGrantedTTL() throws {
        let clock = ManualLeaseClock()
        var l = Self.lessor(clock)
        _ = try l.grant(id: 1, ttl: 30)
        clock.advance(by: .milliseconds(10_500))
        let ttl = try l.timeToLive(1)
        #expect(ttl == LeaseTimeToLive(id: 1, ttl: 19, grantedTTL: 30))
        #expect(throws: MVCCError.leaseNotFound) { try l.timeToLive(2) }
    }

    @Test func leasesAreListedSoonestExpiryFirst() throws {
        var l = Self.lessor(ManualLeaseClock())
        _ = try l.grant(id: 1, ttl: 50)
        _ = try l.grant(id: 2, ttl: 5)
        _ = try l.grant(id: 3, ttl: 20)
        #expect(l.leases().map(\.id) == [2, 3, 1])
    }

    @Test func aNonPrimaryLessorNeverExpiresLeases() throws {
        let clock = ManualLeaseClock()
        var l = Self.lessor(clock, primary: false)
        _ = try l.grant(id: 1, ttl: 5)
        clock.advance(by: .seconds(60))
        #expect(l.expiredLeases().isEmpty)
        #expect(try l.timeToLive(1).ttl == 5)
        #expect(l.lookup(1)?.expiry == nil)
    }

    @Test func promoteExtendsRemainingTTLs() throws {
        let clock = ManualLeaseClock()
        var l = Self.lessor(clock)
        _ = try l.grant(id: 1, ttl: 10)
        clock.advance(by: .seconds(9))
        l.demote()
        clock.advance(by: .seconds(30))  // leadership moved around for a while
        #expect(l.expiredLeases().isEmpty)
        l.promote(extend: .seconds(1))
        #expect(try l.timeToLive(1).ttl == 11)
        clock.advance(by: .milliseconds(10_999))
        #expect(l.expiredLeases().isEmpty)
        clock.advance(by: .milliseconds(1))
        #expect(l.expiredLeases() == [1])
    }

    @Test func promoteResumesFromACheckpoint() throws {
        let clock = ManualLeaseClock()
        var l = Self.lessor(clock, primary: false)
        _ = try l.grant(id: 1, ttl: 100)
        l.checkpoint(1, remainingTTL: 7)
        l.promote(extend: .seconds(2))
        #expect(try l.timeToLive(1).ttl == 9)
        #expect(try l.renew(1) == 100)
        #expect(try l.timeToLive(1).ttl == 100)
    }

    @Test func promoteSpreadsManySimultaneousExpiries() throws {
        let clock = ManualLeaseClock()
        var l = Lessor(clock: clock, configuration: .init(revokeRate: 8), primary: false)
        for id in 1...12 { _ = try l.grant(id: Int64(id), ttl: 10) }
        l.promote(extend: .zero)
        clock.advance(by: .seconds(10))
        // 3/4 of 8 per second: 6 expire on time, the rest are pushed back
        // by 7/6 ... 12/6 seconds.
        #expect(l.expiredLeases().count == 6)
        clock.advance(by: .seconds(1))
        #expect(l.expiredLeases().isEmpty)
        clock.advance(by: .seconds(1))
        #expect(l.expiredLeases().count == 6)
    }
}
