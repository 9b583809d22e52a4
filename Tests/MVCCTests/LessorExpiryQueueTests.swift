import Testing
@testable import MVCC

@Suite struct LessorExpiryQueueTests {
    @Test func theQueueAlwaysYieldsTheEarliestDueLease() {
        var queue = ExpiryQueue()
        var reference: [Int64: Duration] = [:]
        var state: UInt64 = 42
        func next(_ n: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % n
        }
        for _ in 0..<5_000 {
            let id = Int64(next(200))
            switch next(4) {
            case 0:
                queue.remove(id)
                reference[id] = nil
            default:
                let due = Duration.milliseconds(Int64(next(10_000)))
                queue.update(id, due: due)
                reference[id] = due
            }
            #expect(queue.count == reference.count)
            if let first = queue.first {
                #expect(first.due == reference.values.min())
                #expect(reference[first.id] == first.due)
            }
        }
        // Draining yields non-decreasing due times.
        var last = Duration.zero
        var drained = 0
        while let first = queue.first, drained < 1_000 {
            #expect(first.due >= last)
            last = first.due
            queue.remove(first.id)
            drained += 1
        }
        #expect(drained == reference.count)
    }
}
