import Testing
@testable import EtcdServer

/// Permission ranges decide exactly as etcd 3.4's interval tree does: a
/// single key must fall in some grant, a range must be covered by the union
/// of the grants without a gap, an empty end means "no end".
@Suite struct KeyIntervalsTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func ranges(_ pairs: [(String, String)]) -> KeyIntervals {
        KeyIntervals(pairs.map { KeyIntervals.Interval(begin: b($0.0), end: b($0.1)) })
    }

    // etcd's TestRangePermission cases (auth/range_perm_cache_test.go).
    @Test("a range needs grants that cover it without a gap", arguments: [
        ([("a", "c"), ("x", "z")], "a", "z", false),
        ([("a", "f"), ("c", "d"), ("f", "z")], "a", "z", true),
        ([("a", "d"), ("a", "b"), ("c", "f")], "a", "f", true),
    ])
    func rangeCoverage(grants: [(String, String)], begin: String, end: String, expected: Bool) {
        #expect(Self.ranges(grants).permits(key: Self.b(begin), rangeEnd: Self.b(end)) == expected)
    }

    // etcd's TestKeyPermission cases.
    @Test("a single key needs one grant that holds it", arguments: [
        ([("a", "c"), ("x", "z")], "f", false),
        ([("a", "f"), ("c", "d"), ("f", "z")], "b", true),
        ([("a", "d"), ("a", "b"), ("c", "f")], "d", true),
        ([("a", "d"), ("a", "b"), ("c", "f")], "f", false),
    ])
    func pointCoverage(grants: [(String, String)], key: String, expected: Bool) {
        #expect(Self.ranges(grants).permits(key: Self.b(key), rangeEnd: []) == expected)
    }

    @Test func rangesAreHalfOpen() {
        let grants = Self.ranges([("b", "d")])
        #expect(grants.permits(key: Self.b("b"), rangeEnd: []))
        #expect(grants.permits(key: Self.b("c\u{ff}"), rangeEnd: []))
        #expect(!grants.permits(key: Self.b("d"), rangeEnd: []))
        #expect(!grants.permits(key: Self.b("a"), rangeEnd: []))
        #expect(grants.permits(key: Self.b("b"), rangeEnd: Self.b("d")))
        #expect(!grants.permits(key: Self.b("b"), rangeEnd: Self.b("d\0")))
        #expect(!grants.permits(key: Self.b("a"), rangeEnd: Self.b("c")))
    }

    @Test func adjacentGrantsJoin() {
        let grants = Self.ranges([("a", "c"), ("c", "e")])
        #expect(grants.permits(key: Self.b("a"), rangeEnd: Self.b("e")))
        #expect(!grants.permits(key: Self.b("a"), rangeEnd: Self.b("f")))
    }

    @Test func singleKeyGrantCoversOnlyThatKey() {
        let grants = KeyIntervals(permissions: [KeyPermission(access: .read, key: Self.b("foo"), rangeEnd: [])], allowing: .read)
        #expect(grants.permits(key: Self.b("foo"), rangeEnd: []))
        #expect(!grants.permits(key: Self.b("foo2"), rangeEnd: []))
        #expect(!grants.permits(key: Self.b("fo"), rangeEnd: []))
        // A prefix request is wider than the key itself.
        #expect(!grants.permits(key: Self.b("foo"), rangeEnd: Self.b("fop")))
        // The range holding just "foo" is the key's own interval.
        #expect(grants.permits(key: Self.b("foo"), rangeEnd: Self.b("foo\0")))
    }

    @Test func prefixGrantCoversPrefixRequests() {
        // etcdctl role grant-permission r read pre --prefix sends [pre, prf).
        let grants = KeyIntervals(permissions: [KeyPermission(access: .read, key: Self.b("pre"), rangeEnd: Self.b("prf"))], allowing: .read)
        #expect(grants.permits(key: Self.b("pre"), rangeEnd: Self.b("prf")))
        #expect(grants.permits(key: Self.b("pre/x"), rangeEnd: Self.b("pre/y")))
        #expect(grants.permits(key: Self.b("pre/x"), rangeEnd: []))
        #expect(!grants.permits(key: Self.b("pr"), rangeEnd: Self.b("ps")))
    }

    @Test func fromKeyGrantHasNoEnd() {
        // --from-key sends range end "\0", which means every key from `key`.
        let grants = KeyIntervals(permissions: [KeyPermission(access: .read, key: Self.b("m"), rangeEnd: [0])], allowing: .read)
        #expect(grants.permits(key: Self.b("m"), rangeEnd: [0]))
        #expect(grants.permits(key: Self.b("x"), rangeEnd: [0]))
        #expect(grants.permits(key: Self.b("zzz"), rangeEnd: []))
        #expect(grants.permits(key: Self.b("p"), rangeEnd: Self.b("q")))
        #expect(!grants.permits(key: Self.b("a"), rangeEnd: [0]))
        #expect(!grants.permits(key: Self.b("l"), rangeEnd: Self.b("n")))
    }

    @Test func boundedGrantsNeverCoverAnOpenRange() {
        let grants = Self.ranges([("a", "z"), ("z", "zz")])
        #expect(!grants.permits(key: Self.b("a"), rangeEnd: [0]))
    }

    @Test func accessTypesAreSeparate() {
        let permissions = [
            KeyPermission(access: .read, key: Self.b("r"), rangeEnd: []),
            KeyPermission(access: .write, key: Self.b("w"), rangeEnd: []),
            KeyPermission(access: .readWrite, key: Self.b("rw"), rangeEnd: []),
        ]
        let user = UserPermissions(grants: permissions)
        #expect(user.allows(key: Self.b("r"), rangeEnd: [], access: .read))
        #expect(!user.allows(key: Self.b("r"), rangeEnd: [], access: .write))
        #expect(user.allows(key: Self.b("w"), rangeEnd: [], access: .write))
        #expect(!user.allows(key: Self.b("w"), rangeEnd: [], access: .read))
        #expect(user.allows(key: Self.b("rw"), rangeEnd: [], access: .read))
        #expect(user.allows(key: Self.b("rw"), rangeEnd: [], access: .write))
    }

    @Test func noGrantsAllowNothing() {
        let none = KeyIntervals([])
        #expect(!none.permits(key: Self.b("a"), rangeEnd: []))
        #expect(!none.permits(key: Self.b("a"), rangeEnd: Self.b("b")))
    }

    /// A randomized check of `covers` against a brute-force definition on a
    /// small alphabet: every key in the request range lies in some grant.
    @Test func coverageMatchesBruteForce() {
        let alphabet = ["a", "b", "c", "d", "e", "f"]
        var generator = SplitMix(seed: 7)
        for _ in 0..<2000 {
            var grants: [KeyIntervals.Interval] = []
            for _ in 0..<Int.random(in: 0...3, using: &generator) {
                let i = Int.random(in: 0..<alphabet.count - 1, using: &generator)
                let j = Int.random(in: (i + 1)..<alphabet.count, using: &generator)
                grants.append(.init(begin: Self.b(alphabet[i]), end: Self.b(alphabet[j])))
            }
            let i = Int.random(in: 0..<alphabet.count - 1, using: &generator)
            let j = Int.random(in: (i + 1)..<alphabet.count, using: &generator)
            // Keys between single letters are the letters themselves and
            // their extensions; each letter's range is [x, next letter).
            let requested = alphabet[i..<j]
            let expected = requested.allSatisfy { letter in
                grants.contains { g in Self.b(letter).lexicographicallyPrecedes(g.end) && !Self.b(letter).lexicographicallyPrecedes(g.begin) }
            }
            let intervals = KeyIntervals(grants)
            #expect(intervals.permits(key: Self.b(alphabet[i]), rangeEnd: Self.b(alphabet[j])) == expected,
                    "grants \(grants.map { "[\(String(decoding: $0.begin, as: UTF8.self)),\(String(decoding: $0.end, as: UTF8.self)))" }) request [\(alphabet[i]),\(alphabet[j]))")
        }
    }
}

/// A small seeded generator, so a failing case reproduces.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
