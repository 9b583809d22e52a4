import Testing
@testable import EtcdServer

/// Simple tokens: etcd's shape, expiry after the TTL without use, renewal
/// on each use, and invalidation by user.
@Suite struct SimpleTokenStoreTests {
    let start = ContinuousClock.now

    @Test func prefixesAreSixteenLetters() {
        var generator = SplitMix(seed: 1)
        let a = SimpleTokenStore.makePrefix(using: &generator)
        let b = SimpleTokenStore.makePrefix(using: &generator)
        #expect(a.count == 16 && b.count == 16)
        #expect(a != b)
        #expect(a.allSatisfy { $0.isASCII && $0.isLetter })
    }

    @Test func theIndexIsAfterTheDot() {
        #expect(SimpleTokenStore.index(of: "abcdefghijklmnop.42") == 42)
        #expect(SimpleTokenStore.index(of: "abcdefghijklmnop") == nil)
        #expect(SimpleTokenStore.index(of: "a.b.3") == nil)
        #expect(SimpleTokenStore.index(of: "abc.x") == nil)
        #expect(SimpleTokenStore.index(of: "") == nil)
    }

    @Test func tokensExpireUnlessUsed() {
        var tokens = SimpleTokenStore(ttl: .seconds(300))
        tokens.assign("a.1", to: "alice", now: start)
        tokens.assign("b.2", to: "bob", now: start)
        // Used at 200 s: renewed until 500 s.
        #expect(tokens.username(for: "a.1", now: start + .seconds(200)) == "alice")
        #expect(tokens.username(for: "a.1", now: start + .seconds(499)) == "alice")
        // Never used: gone after 300 s.
        #expect(tokens.username(for: "b.2", now: start + .seconds(301)) == nil)
        #expect(tokens.username(for: "a.1", now: start + .seconds(800)) == nil)
        #expect(tokens.username(for: "unknown.3", now: start) == nil)
    }

    @Test func expiredTokensAreSweptOut() {
        var tokens = SimpleTokenStore(ttl: .seconds(1))
        for i in 0..<100 { tokens.assign("t.\(i)", to: "u", now: start) }
        tokens.assign("late.1", to: "u", now: start + .seconds(5))
        #expect(tokens.count == 1)
    }

    @Test func invalidatingAUserDropsOnlyItsTokens() {
        var tokens = SimpleTokenStore(ttl: .seconds(300))
        tokens.assign("a.1", to: "alice", now: start)
        tokens.assign("a.2", to: "alice", now: start)
        tokens.assign("b.3", to: "bob", now: start)
        tokens.invalidate(username: "alice")
        #expect(tokens.username(for: "a.1", now: start) == nil)
        #expect(tokens.username(for: "a.2", now: start) == nil)
        #expect(tokens.username(for: "b.3", now: start) == "bob")
        tokens.removeAll()
        #expect(tokens.username(for: "b.3", now: start) == nil)
    }
}
