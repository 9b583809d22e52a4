import Testing

@testable import MVCC

@Suite("WatchHub fragmenting")
struct WatchFragmentTests {
    static let value = String(repeating: "v", count: 100)

    @Test func oversizedRevisionIsFragmentedOnlyForWatchersThatAskedForIt() {
        var rig = WatchRig(configuration: .init(maxResponseBytes: 400))
        let stream = rig.hub.openStream()
        let fragmenting = rig.watch(watchPrefix("f/"), on: stream, fragment: true)
        let whole = rig.watch(watchPrefix("f/"), on: stream)
        rig.txn((0..<8).map { .put("f/\($0)", Self.value) })
        rig.put("f/small", "x")
        let responses = rig.drain(stream).filter { !$0.events.isEmpty }

        let pieces = responses.filter { $0.watchID == fragmenting && $0.headerRevision == 1 }
        #expect(pieces.count > 1)
        #expect(pieces.dropLast().allSatisfy { $0.fragment })
        #expect(pieces.last!.fragment == false)
        for piece in pieces {
            #expect(piece.estimatedWireSize < 400 || piece.events.count == 1)
        }
        #expect(pieces.flatMap(\.events) == rig.history.log[0])
        // Fragments are queued back to back, before the next revision.
        let first = responses.firstIndex(of: pieces.first!)!
        #expect(Array(responses[first..<(first + pieces.count)]) == pieces)

        let unfragmented = responses.filter { $0.watchID == whole }
        #expect(unfragmented.map(\.events.count) == [8, 1])
        #expect(unfragmented.allSatisfy { !$0.fragment })
        // A small response is never fragmented.
        #expect(responses.filter { $0.watchID == fragmenting }.last!.events.count == 1)
        watchExpectEvents(rig.events(fragmenting, on: stream), rig.expected(watchPrefix("f/"), from: 1))
    }

    @Test func catchUpBatchesAreFragmentedToo() {
        var rig = WatchRig(configuration: .init(maxResponseBytes: 500))
        let stream = rig.hub.openStream()
        for i in 0..<10 { rig.put("h/\(i)", Self.value) }
        let id = rig.watch(watchPrefix("h/"), on: stream, from: 1, fragment: true)
        rig.settle(streams: [stream])
        let responses = rig.received[stream]!.filter { !$0.events.isEmpty }
        #expect(responses.count > 1)
        #expect(responses.dropLast().allSatisfy { $0.fragment } && !responses.last!.fragment)
        watchExpectEvents(rig.events(id, on: stream), rig.expected(watchPrefix("h/"), from: 1))
    }

    @Test func fragmentingKeepsEveryEventInOrder() {
        let events = (0..<50).map { i in
            Event(
                kind: i % 3 == 0 ? .delete : .put,
                kv: KeyValue(
                    key: Array("key\(i)".utf8), createRevision: 7, modRevision: 7, version: 1,
                    value: Array(repeating: 1, count: i * 7)),
                prevKv: i % 2 == 0 ? nil : KeyValue(key: [1], createRevision: 1, modRevision: 2, version: 1, value: [2]))
        }
        let response = WatchResponse(watchID: 3, headerRevision: 7, events: events)
        for limit in [1, 64, 300, 1000, 100_000] {
            let pieces = response.fragmented(maxBytes: limit)
            #expect(pieces.flatMap(\.events) == events)
            #expect(pieces.allSatisfy { !$0.events.isEmpty && $0.watchID == 3 && $0.headerRevision == 7 })
            #expect(pieces.dropLast().allSatisfy { $0.fragment } && !pieces.last!.fragment)
            #expect(pieces.allSatisfy { $0.events.count == 1 || $0.estimatedWireSize < limit })
            if response.estimatedWireSize < limit { #expect(pieces == [response]) }
        }
    }

    @Test func wireSizeMatchesProtobufArithmetic() {
        // Event{type: PUT, kv: {key "a" (3), create 1 (2), mod 1 (2), version 1 (2), value "b" (3)}}
        let event = Event(kind: .put, kv: KeyValue(key: [97], createRevision: 1, modRevision: 1, version: 1, value: [98]))
        #expect(WatchWireSize.event(event) == 2 + 12)  // kv field: tag, length, 12 bytes
        let response = WatchResponse(watchID: 0, headerRevision: 1, events: [event])
        #expect(response.estimatedWireSize == WatchResponse.headerFieldMaxSize + 2 + 14)
        #expect(WatchWireSize.varint(127) == 1 && WatchWireSize.varint(128) == 2)
        #expect(WatchWireSize.int64Field(-1) == 11)
    }
}
