import Testing
@testable import MVCC

@Suite struct KVStoreTxnTests {
    typealias F = KVFixture

    /// "a" = "10" created at 2, updated at 3 (version 2); "b" = "20" at 4.
    private static func store() throws -> KVStore {
        var s = KVStore()
        try F.put(&s, "a", "1")
        try F.put(&s, "a", "10")
        try F.put(&s, "b", "20")
        return s
    }

    private static func holds(_ s: KVStore, _ c: Compare) throws -> Bool {
        var copy = s
        return try copy.txn(TxnRequest(compare: [c])).0.succeeded
    }

    @Test(arguments: [
        (Compare.Target.value(F.b("10")), [true, false, false, false]),
        (.value(F.b("1")), [false, true, false, true]),
        (.value(F.b("2")), [false, false, true, true]),
        (.version(2), [true, false, false, false]),
        (.version(1), [false, true, false, true]),
        (.createRevision(2), [true, false, false, false]),
        (.createRevision(3), [false, false, true, true]),
        (.modRevision(3), [true, false, false, false]),
        (.modRevision(2), [false, true, false, true]),
        (.lease(0), [true, false, false, false]),
        (.lease(-1), [false, true, false, true]),
    ])
    func eachTargetAndResult(target: Compare.Target, expected: [Bool]) throws {
        let s = try Self.store()
        let results: [Compare.Result] = [.equal, .greater, .less, .notEqual]
        for (result, want) in zip(results, expected) {
            #expect(try Self.holds(s, Compare(key: F.b("a"), target: target, result: result)) == want, "\(target) \(result)")
        }
    }

    @Test func aMissingKeyComparesAsZeroExceptForValue() throws {
        let s = try Self.store()
        #expect(try Self.holds(s, Compare(key: F.b("nope"), target: .version(0), result: .equal)))
        #expect(try Self.holds(s, Compare(key: F.b("nope"), target: .createRevision(1), result: .less)))
        #expect(try Self.holds(s, Compare(key: F.b("nope"), target: .modRevision(0), result: .equal)))
        #expect(try !Self.holds(s, Compare(key: F.b("nope"), target: .value([]), result: .equal)))
        #expect(try !Self.holds(s, Compare(key: F.b("nope"), target: .value(F.b("x")), result: .notEqual)))
    }

    @Test func aRangeCompareMustHoldForEveryKey() throws {
        let s = try Self.store()
        let all = (key: F.b("a"), end: F.b("c"))
        #expect(try Self.holds(s, Compare(key: all.key, rangeEnd: all.end, target: .createRevision(5), result: .less)))
        #expect(try !Self.holds(s, Compare(key: all.key, rangeEnd: all.end, target: .version(2), result: .equal)))
        #expect(try Self.holds(s, Compare(key: [0], rangeEnd: [0], target: .version(0), result: .greater)))
        // An empty range compares against zero values.
        #expect(try Self.holds(s, Compare(key: F.b("x"), rangeEnd: F.b("y"), target: .version(0), result: .equal)))
    }

    @Test func theFailureBranchRunsWhenACompareFails() throws {
        var s = try Self.store()
        let req = TxnRequest(
            compare: [
                Compare(key: F.b("a"), target: .version(2), result: .equal),
                Compare(key: F.b("b"), target: .value(F.b("nope")), result: .equal),
            ],
            success: [.put(PutRequest(key: F.b("s"), value: F.b("1")))],
            failure: [.put(PutRequest(key: F.b("f"), value: F.b("1"))), .range(RangeRequest(key: F.b("a")))])
        let (resp, events) = try s.txn(req)
        #expect(!resp.succeeded)
        #expect(resp.revision == 5)
        #expect(events.map(\.kv.key) == [F.b("f")])
        #expect(try F.get(s, "s") == nil)
        guard resp.responses.count == 2, case .range(let r) = resp.responses[1] else {
            Issue.record("expected put and range responses"); return
        }
        #expect(r.kvs.first?.value == F.b("10"))
    }

    @Test func allWritesShareOneRevisionAndReadsSeeEarlierWrites() throws {
        var s = try Self.store()
        let req = TxnRequest(success: [
            .range(RangeRequest(key: F.b("a"))),
            .put(PutRequest(key: F.b("a"), value: F.b("new"))),
            .range(RangeRequest(key: F.b("a"))),
            .deleteRange(DeleteRangeRequest(key: F.b("b"), prevKv: true)),
            .put(PutRequest(key: F.b("c"), value: F.b("3"), prevKv: true)),
        ])
        let (resp, events) = try s.txn(req)
        #expect(resp.succeeded && resp.revision == 5)
        #expect(s.currentRevision == 5)
        guard resp.responses.count == 5,
            case .range(let before) = resp.responses[0], case .put(let put) = resp.responses[1],
            case .range(let after) = resp.responses[2], case .deleteRange(let del) = resp.responses[3]
        else {
            Issue.record("unexpected responses \(resp.responses)"); return
        }
        #expect(before.kvs.first?.value == F.b("10") && before.revision == 4)
        #expect(put.revision == 5)
        #expect(after.kvs.first?.value == F.b("new") && after.kvs.first?.modRevision == 5 && after.revision == 5)
        #expect(del.deleted == 1 && del.prevKvs.first?.value == F.b("20") && del.revision == 5)
        #expect(events.map(\.kind) == [.put, .delete, .put])
        #expect(events.allSatisfy { $0.kv.modRevision == 5 })
        #expect(events[0].prevKv?.value == F.b("10"))
        #expect(s.log.records.suffix(3).map(\.revision.sub) == [0, 1, 2])
    }

    @Test func aTxnThatWritesNothingKeepsTheRevision() throws {
        var s = try Self.store()
        let (readOnly, events) = try s.txn(TxnRequest(success: [.range(RangeRequest(key: F.b("a")))]))
        #expect(readOnly.revision == 4 && events.isEmpty)
        let (noop, _) = try s.txn(TxnRequest(success: [.deleteRange(DeleteRangeRequest(key: F.b("zz")))]))
        #expect(noop.revision == 4)
        #expect(s.currentRevision == 4)
    }

    @Test func nestedTxnsDecideAgainstTheStateBeforeTheTxn() throws {
        var s = try Self.store()
        let inner = TxnRequest(
            compare: [Compare(key: F.b("a"), target: .value(F.b("10")), result: .equal)],
            success: [.put(PutRequest(key: F.b("inner"), value: F.b("saw-old")))],
            failure: [.put(PutRequest(key: F.b("inner"), value: F.b("saw-new")))])
        let outer = TxnRequest(success: [.put(PutRequest(key: F.b("a"), value: F.b("changed"))), .txn(inner)])
        let (resp, events) = try s.txn(outer)
        #expect(resp.succeeded)
        #expect(try F.get(s, "inner")?.value == F.b("saw-old"))
        #expect(events.count == 2)
        guard case .txn(let nested) = resp.responses.last else { Issue.record("no nested response"); return }
        #expect(nested.succeeded)
        #expect(nested.responses.count == 1)
    }

    @Test func aFailingTxnWritesNothing() throws {
        var s = try Self.store()
        let missing = TxnRequest(success: [
            .put(PutRequest(key: F.b("x"), value: F.b("1"))),
            .put(PutRequest(key: F.b("missing"), ignoreValue: true)),
        ])
        #expect(throws: MVCCError.keyNotFound) { try s.txn(missing) }
        let lease = TxnRequest(success: [
            .deleteRange(DeleteRangeRequest(key: F.b("a"))),
            .txn(TxnRequest(success: [.put(PutRequest(key: F.b("y"), value: F.b("1"), lease: 99))])),
        ])
        #expect(throws: MVCCError.leaseNotFound) { try s.txn(lease) }
        let future = TxnRequest(success: [
            .put(PutRequest(key: F.b("x"), value: F.b("1"))),
            .range(RangeRequest(key: F.b("a"), revision: 5)),
        ])
        #expect(throws: MVCCError.futureRevision) { try s.txn(future) }
        #expect(s.currentRevision == 4)
        #expect(try F.get(s, "x") == nil)
        #expect(try F.get(s, "a")?.value == F.b("10"))
        #expect(s.log.count == 3)
    }

    @Test func aWriteThatFailsPartWayIsRolledBack() throws {
        // Passes the up-front check (the key exists before the txn) but the
        // txn deletes it first, so the ignore-value put fails while applying.
        var s = try Self.store()
        let req = TxnRequest(success: [
            .put(PutRequest(key: F.b("new"), value: F.b("1"))),
            .deleteRange(DeleteRangeRequest(key: F.b("a"))),
            .put(PutRequest(key: F.b("a"), ignoreValue: true)),
        ])
        #expect(throws: MVCCError.keyNotFound) { try s.txn(req) }
        #expect(s.currentRevision == 4)
        #expect(s.index[F.b("new")] == nil)
        #expect(try F.get(s, "a")?.value == F.b("10"))
        #expect(s.index[F.b("a")]?.entries.count == 2)
        #expect(s.log.count == 3)
        // The store keeps working normally afterwards.
        try F.put(&s, "a", "11")
        #expect(try F.get(s, "a")?.version == 3)
    }

    /// Range compares as etcd's integration suite exercises them: keys named
    /// by their create revision, "/a/2", "/a/3", "/a/4", "/f/5".
    @Test func rangeComparesAgainstCreateRevisionsAndLeases() throws {
        var s = KVStore()
        for k in ["/a/2", "/a/3", "/a/4", "/f/5"] { try F.put(&s, k, "x") }
        let cases: [(Compare, Bool)] = [
            (Compare(key: F.b("/a/"), rangeEnd: [0], target: .createRevision(6), result: .less), true),
            (Compare(key: F.b("/a/"), rangeEnd: [0], target: .createRevision(5), result: .less), false),
            (Compare(key: F.b("/a/"), rangeEnd: F.b("/a0"), target: .createRevision(5), result: .less), true),
            (Compare(key: F.b("/a/"), rangeEnd: F.b("/a0"), target: .createRevision(4), result: .less), false),
            (Compare(key: F.b("/b/"), rangeEnd: F.b("/b0"), target: .value(F.b("x")), result: .equal), false),
            (Compare(key: F.b("/a/"), rangeEnd: F.b("/a0"), target: .lease(0), result: .greater), false),
            (Compare(key: F.b("/a/"), rangeEnd: F.b("/a0"), target: .lease(0), result: .equal), true),
        ]
        for (c, want) in cases {
            #expect(try Self.holds(s, c) == want, "\(c)")
        }
    }
}
