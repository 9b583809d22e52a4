import Raft
import RaftTestSupport
import Testing

private func message(_ n: UInt64, from: NodeID = 1, to: NodeID = 2) -> Message {
    Message(type: .heartbeat, to: to, from: from, term: 1, index: n)
}

@Suite("Simulated network")
struct NetworkTests {
    @Test func deliversInOrderByDefault() {
        var net = SimNetwork(seed: 1)
        for n: UInt64 in 1...5 { net.send(message(n)) }
        #expect(net.deliverDue().map(\.index) == [1, 2, 3, 4, 5])
        #expect(net.inFlightCount == 0)
    }

    @Test func dropLosesMessages() {
        var net = SimNetwork(seed: 1, faults: NetworkFaults(dropPerMille: 1000))
        for n: UInt64 in 1...5 {
            let accepted = net.send(message(n))
            #expect(!accepted)
        }
        #expect(net.deliverDue().isEmpty)
        var some = SimNetwork(seed: 1, faults: NetworkFaults(dropPerMille: 500))
        for n: UInt64 in 1...200 { some.send(message(n)) }
        let delivered = some.deliverDue().count
        #expect(delivered > 50 && delivered < 150)
    }

    @Test func duplicateDeliversTwice() {
        var net = SimNetwork(seed: 1, faults: NetworkFaults(duplicatePerMille: 1000))
        net.send(message(1))
        #expect(net.deliverDue().map(\.index) == [1, 1])
    }

    @Test func delayHoldsMessagesForRounds() {
        var net = SimNetwork(seed: 3, faults: NetworkFaults(maxDelay: 5))
        for n: UInt64 in 1...50 { net.send(message(n)) }
        var arrivals: [UInt64] = []
        var rounds = 0
        while net.inFlightCount > 0 && rounds < 10 {
            arrivals += net.deliverDue().map(\.index)
            rounds += 1
        }
        #expect(arrivals.count == 50)
        #expect(rounds > 1 && rounds <= 6)
        #expect(arrivals != Array(UInt64(1)...50), "delays reorder across rounds")
    }

    @Test func reorderShufflesWithinARound() {
        var net = SimNetwork(seed: 7, faults: NetworkFaults(reorder: true))
        for n: UInt64 in 1...20 { net.send(message(n)) }
        let order = net.deliverDue().map(\.index)
        #expect(order.sorted() == Array(UInt64(1)...20))
        #expect(order != Array(UInt64(1)...20))
    }

    @Test func partitionIsolateAndHeal() {
        var net = SimNetwork(seed: 1)
        net.partition([[1], [2, 3]])
        var accepted: [Bool] = []
        accepted.append(net.send(message(1, from: 1, to: 2)))
        accepted.append(net.send(message(2, from: 2, to: 3)))
        net.heal()
        net.isolate(3, from: [1, 2, 3])
        accepted.append(net.send(message(3, from: 1, to: 2)))
        accepted.append(net.send(message(4, from: 3, to: 1)))
        accepted.append(net.send(message(5, from: 2, to: 3)))
        net.heal()
        accepted.append(net.send(message(6, from: 3, to: 1)))
        #expect(accepted == [false, true, true, false, false, true])
        #expect(net.deliverDue().map(\.index) == [2, 3, 6])
    }

    @Test func cuttingALinkDropsMessagesAlreadyInFlight() {
        var net = SimNetwork(seed: 1)
        net.send(message(1))
        net.partition([[1], [2]])
        #expect(net.deliverDue().isEmpty)
    }
}

@Suite("Crash and restart")
struct CrashRestartTests {
    @Test func unpersistedEntriesAreLostPersistedOnesSurvive() throws {
        let cluster = Cluster(size: 3)
        cluster.campaign(1)
        cluster.stabilize()
        try cluster.propose(1, Array("kept".utf8))
        cluster.stabilize()
        let persisted = cluster.node(2)?.storage.lastIndex()
        // Node 2 receives an append but crashes before handling its Ready.
        try cluster.mutate(2) { raft in
            try raft.step(Message(
                type: .app, to: 2, from: 1, term: 2, logTerm: 2, index: persisted ?? 0,
                entries: [Entry(term: 2, index: (persisted ?? 0) + 1, data: Array("lost".utf8))], commit: 5))
        }
        #expect(cluster.raft(2)?.lastIndex == (persisted ?? 0) + 1)
        cluster.crash(2)
        cluster.restart(2)
        #expect(cluster.raft(2)?.lastIndex == persisted, "the unpersisted entry is gone")
        #expect(cluster.raft(2)?.term == 2, "term and vote survive")
        #expect(cluster.raft(2)?.vote == 1)
        #expect(cluster.node(2)?.stateMachine.contains(Array("kept".utf8)) == true, "re-applied from its log")
    }

    @Test func messagesOfACrashedNodeAreNotSent() {
        let cluster = Cluster(size: 3)
        cluster.mutate(1) { raft in raft.campaign() }
        cluster.crash(1)  // its pre-votes were never handed to the network
        cluster.stabilize()
        #expect(cluster.network.deliveredCount == 0)
    }
}

@Suite("MemoryStorage")
struct MemoryStorageTests {
    @Test func appendOverwritesAConflictingSuffix() throws {
        let storage = MemoryStorage()
        storage.append((1...5).map { Entry(term: 1, index: $0) })
        storage.append([Entry(term: 2, index: 4), Entry(term: 2, index: 5), Entry(term: 2, index: 6)])
        #expect(storage.allEntries().map(\.term) == [1, 1, 1, 2, 2, 2])
        #expect(storage.lastIndex() == 6)
    }

    @Test func compactionKeepsTheTermOfTheLastCompactedEntry() throws {
        let storage = MemoryStorage()
        storage.append((1...5).map { Entry(term: $0, index: $0) })
        let snapshot = storage.createSnapshot(index: 3, confState: ConfState(voters: [1]), data: [9])
        #expect(snapshot?.metadata.term == 3)
        storage.compact(through: 3)
        #expect(storage.firstIndex() == 4)
        #expect(try storage.term(at: 3) == 3)
        #expect(throws: StorageError.compacted) { try storage.term(at: 2) }
        #expect(throws: StorageError.compacted) { try storage.entries(from: 3, to: 5, maxBytes: .max) }
        #expect(throws: StorageError.unavailable) { try storage.entries(from: 4, to: 7, maxBytes: .max) }
        #expect(try storage.entries(from: 4, to: 6, maxBytes: .max).map(\.index) == [4, 5])
        #expect(try storage.entries(from: 4, to: 6, maxBytes: 1).map(\.index) == [4], "at least one entry")
        #expect(storage.createSnapshot(index: 2, confState: ConfState(), data: []) == nil, "older than the latest")
    }

    @Test func applySnapshotReplacesTheLog() throws {
        let storage = MemoryStorage()
        storage.append((1...3).map { Entry(term: 1, index: $0) })
        storage.applySnapshot(Snapshot(data: [1], metadata: SnapshotMetadata(index: 10, term: 4, confState: ConfState(voters: [1, 2]))))
        #expect(storage.firstIndex() == 11)
        #expect(storage.lastIndex() == 10)
        #expect(try storage.term(at: 10) == 4)
        #expect(storage.initialState().confState.voters == [1, 2])
        storage.append([Entry(term: 4, index: 11)])
        #expect(storage.lastIndex() == 11)
    }
}
