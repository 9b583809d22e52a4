import Testing
@testable import MVCC

/// Random operations checked against a naive model that keeps a full copy
/// of the key space at every revision: reads at every retained revision,
/// history replay and compaction must agree with it.
@Suite struct KVStoreModelTests {
    typealias F = KVFixture

    /// Deterministic generator (splitmix64), so a failing seed reproduces.
    struct Rng {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    /// The key space at each revision, index = revision.
    struct Model {
        var states: [[String: KeyValue]] = [[:], [:]]  // revisions 0 and 1 are empty
        var compacted: Int64 = 0
        var current: Int64 { Int64(states.count - 1) }

        /// Applies one revision's changes (nil value = delete).
        mutating func commit(_ changes: [(String, String?)]) {
            guard !changes.isEmpty else { return }
            var next = states[states.count - 1]
            let rev = current + 1
            for (key, value) in changes {
                if let value {
                    let old = next[key]
                    next[key] = KeyValue(
                        key: F.b(key), createRevision: old?.createRevision ?? rev, modRevision: rev,
                        version: (old?.version ?? 0) + 1, value: F.b(value))
                } else {
                    next[key] = nil
                }
            }
            states.append(next)
        }
    }

    static let keys = ["a", "b", "c", "d", "e", "f"]

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomHistoriesAgreeWithTheModel(seed: UInt64) throws {
        var rng = Rng(state: seed)
        var store = KVStore()
        var model = Model()
        for step in 0..<400 {
            let keyIndex = rng.next(Self.keys.count)
            let key = Self.keys[keyIndex]
            switch rng.next(10) {
            case 0...3:
                let value = "v\(step)"
                _ = try store.put(PutRequest(key: F.b(key), value: F.b(value)))
                model.commit([(key, value)])
            case 4:
                let (resp, _) = store.deleteRange(DeleteRangeRequest(key: F.b(key)))
                let existed = model.states[model.states.count - 1][key] != nil
                #expect(resp.deleted == (existed ? 1 : 0))
                model.commit(existed ? [(key, nil)] : [])
            case 5:
                let end = Self.keys[rng.next(Self.keys.count)]
                _ = store.deleteRange(DeleteRangeRequest(key: F.b(key), rangeEnd: F.b(end)))
                let doomed = model.states[model.states.count - 1].keys.filter { $0 >= key && $0 < end }.sorted()
                model.commit(doomed.map { ($0, nil) })
            case 6, 7:
                // Two writes on distinct keys in one revision.
                let other = Self.keys[(keyIndex + 1 + rng.next(Self.keys.count - 1)) % Self.keys.count]
                let deleteOther = rng.next(2) == 0
                _ = try store.txn(TxnRequest(success: [
                    .put(PutRequest(key: F.b(key), value: F.b("t\(step)"))),
                    deleteOther ? .deleteRange(DeleteRangeRequest(key: F.b(other)))
                        : .put(PutRequest(key: F.b(other), value: F.b("u\(step)"))),
                ]))
                let otherExists = model.states[model.states.count - 1][other] != nil
                var changes: [(String, String?)] = [(key, "t\(step)")]
                if !deleteOther { changes.append((other, "u\(step)")) } else if otherExists { changes.append((other, nil)) }
                model.commit(changes)
            case 8:
                if model.current > model.compacted + 3 && rng.next(4) == 0 {
                    let rev = model.compacted + 1 + Int64(rng.next(Int(model.current - model.compacted)))
                    try store.compact(rev)
                    model.compacted = rev
                }
            default:
                break
            }
            #expect(store.currentRevision == model.current)
            // A limited range at the newest revision (counted from the
            // index's tallies) agrees with the model.
            let from = Self.keys[rng.next(Self.keys.count)]
            let limit = 1 + rng.next(3)
            let live = model.states[model.states.count - 1].values
                .filter { String(decoding: $0.key, as: UTF8.self) >= from }
                .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            let got = try store.range(RangeRequest(key: F.b(from), rangeEnd: [0], limit: Int64(limit)))
            #expect(got.count == Int64(live.count))
            #expect(got.kvs == Array(live.prefix(limit)))
            #expect(got.more == (live.count > limit))
        }
        // Every retained revision reads exactly as the model says.
        for rev in max(1, model.compacted)...model.current {
            let got = try store.range(RangeRequest(key: [0], rangeEnd: [0], revision: rev))
            let want = model.states[Int(rev)].values.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            #expect(got.kvs == want, "revision \(rev)")
            #expect(got.count == Int64(want.count))
        }
        if model.compacted > 1 {
            #expect(throws: MVCCError.compacted) {
                try store.range(RangeRequest(key: [0], rangeEnd: [0], revision: model.compacted - 1))
            }
        }
        // Replay reproduces each revision's changes with their previous versions.
        let from = model.compacted + 1
        let events = try store.events(in: KeyRange(key: [0], rangeEnd: [0]), from: from, to: model.current)
        var expected: [Event] = []
        if from <= model.current {
            for rev in from...model.current {
                let before = model.states[Int(rev) - 1]
                let after = model.states[Int(rev)]
                for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
                    if let kv = after[key] {
                        expected.append(Event(kind: .put, kv: kv, prevKv: before[key]))
                    } else {
                        let tomb = KeyValue(key: F.b(key), createRevision: 0, modRevision: rev, version: 0, value: [])
                        expected.append(Event(kind: .delete, kv: tomb, prevKv: before[key]))
                    }
                }
            }
        }
        // Within a revision the store orders by sub-revision, the model by key.
        let byRevisionThenKey: (Event, Event) -> Bool = {
            ($0.kv.modRevision, String(decoding: $0.kv.key, as: UTF8.self))
                < ($1.kv.modRevision, String(decoding: $1.kv.key, as: UTF8.self))
        }
        #expect(events.sorted(by: byRevisionThenKey) == expected)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.kv.modRevision <= $1.kv.modRevision })
    }
}
