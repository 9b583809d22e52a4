import Foundation
import Testing
@testable import EtcdServer
import MVCC
import Raft
import RaftTestSupport

/// The seeded whole-cluster simulation: Raft nodes over a simulated network
/// that drops, delays, duplicates and reorders, with crashes (losing what
/// was not persisted), partitions and log compaction with snapshot catch-up,
/// each node applying the server's real commands to the real MVCC state
/// machine (store, lessor). One seed reproduces a run.
///
/// Checked throughout: Raft's safety properties (`SafetyChecker`); every
/// member that has applied the same number of commands holds the same
/// revision and hash, and produced the same watch events; events come in
/// revision order with none missing. At the end, once the network heals:
/// every member converges, every acknowledged write is present at its
/// revision, and replaying history gives exactly the events delivered live.
@Suite struct ClusterSimulationTests {
    @Test("seeded simulation: MVCC over Raft under faults keeps etcd's guarantees")
    func seeds() throws {
        let count = ProcessInfo.processInfo.environment["SWIFT_ETCD_SIM_SEEDS"].flatMap(Int.init) ?? 40
        var acknowledged = 0
        var restarts = 0
        for seed in 1...UInt64(count) {
            var sim = MVCCSimulation(seed: seed)
            let failure = sim.run()
            #expect(failure == nil, "seed \(seed): \(failure ?? "")")
            if failure != nil { break }
            acknowledged += sim.acks.count
            restarts += sim.cluster.ids.reduce(0) { $0 + (sim.cluster.node($1)?.restarts ?? 0) }
        }
        // The runs must have exercised something: writes acknowledged and
        // members crashed and restarted.
        #expect(acknowledged > count * 10, "only \(acknowledged) acknowledged writes")
        #expect(restarts > count, "only \(restarts) restarts")
    }
}

/// One node's replicated state machine, replayed from the payloads Raft
/// applied on it (the simulator's `ListStateMachine` keeps them in order,
/// across snapshots, so a restarted member is rebuilt exactly).
private struct Mirror {
    var applied = 0
    var restarts = 0
    var machine = StateMachine()
    /// Every event this member published, in order.
    var events: [Event] = []
}

/// What two members that applied the same commands must agree on.
private struct Fingerprint: Hashable {
    var revision: Int64
    var keys: Int
    var size: Int64
    var leases: Int
    var events: Int
    var hash: UInt32?
}

/// An acknowledged unique put: it must survive everything.
private struct Ack: Hashable {
    var key: [UInt8]
    var value: [UInt8]
    var revision: Int64
}

private struct MVCCSimulation {
    let seed: UInt64
    var rng: SplitMix64
    let cluster: Cluster
    var mirrors: [NodeID: Mirror] = [:]
    /// Proposals waiting on their proposer: request ID → the unique put.
    var pending: [NodeID: [UInt64: (key: [UInt8], value: [UInt8])]] = [:]
    var acks: [Ack] = []
    /// After n applied commands: what every member must have (the hash is
    /// taken every 25 commands, being a walk of the whole store).
    var fingerprints: [Int: Fingerprint] = [:]
    var nextRequest: UInt64 = 1
    var nextLease: Int64 = 1
    var failure: String?

    init(seed: UInt64) {
        self.seed = seed
        rng = SplitMix64(seed: seed)
        let size = 3 + 2 * Int(rng.next(below: 2))  // 3 or 5 members
        var faults = NetworkFaults()
        faults.dropPerMille = rng.next(below: 150)
        faults.duplicatePerMille = rng.next(below: 80)
        faults.maxDelay = rng.next(below: 3)
        faults.reorder = rng.chance(1, in: 2)
        cluster = Cluster(size: size, seed: rng.next(), electionTick: 10, heartbeatTick: 1, faults: faults)
        cluster.leaderWritesInBackground = rng.chance(1, in: 2)
    }

    mutating func run() -> String? {
        for _ in 0..<400 {
            disturb()
            cluster.tickAll()
            cluster.deliverRound()
            observe()
            if let failure { return failure }
            if let violation = cluster.checker.violations.first { return "raft: \(violation)" }
        }
        // Liveness: faults stop, everyone restarts and reconnects.
        cluster.heal()
        cluster.network.faults = .none
        for id in cluster.ids where cluster.node(id)?.isUp != true { cluster.restart(id) }
        for _ in 0..<300 {
            cluster.tickAll()
            cluster.deliverRound()
            observe()
            if let failure { return failure }
        }
        // A final write through the leader, so every member applies everything.
        guard let leader = cluster.agreedLeader() else { return "no leader after healing" }
        propose(.put(PutRequest(key: Array("final".utf8), value: [1])), at: leader, unique: false)
        for _ in 0..<200 {
            cluster.tickAll()
            cluster.deliverRound()
            observe()
        }
        if let failure { return failure }
        return finalChecks()
    }

    // MARK: Load and faults

    mutating func disturb() {
        let live = cluster.liveIDs
        guard !live.isEmpty else { return }
        let proposer = live[Int(rng.next(below: UInt64(live.count)))]
        for _ in 0..<Int(rng.next(below: 3)) { proposeRandom(at: proposer) }
        if rng.chance(1, in: 60), live.count > 1 {
            let victim = live[Int(rng.next(below: UInt64(live.count)))]
            if rng.chance(1, in: 2) { cluster.crashBeforePersisting(victim) } else { cluster.crash(victim) }
        }
        for id in cluster.ids where cluster.node(id)?.isUp != true && rng.chance(1, in: 15) { cluster.restart(id) }
        if rng.chance(1, in: 80) {
            let ids = cluster.ids
            let cut = 1 + Int(rng.next(below: UInt64(ids.count - 1)))
            cluster.partition([Array(ids[..<cut]), Array(ids[cut...])])
        }
        if rng.chance(1, in: 25) { cluster.heal() }
        if rng.chance(1, in: 30) {
            cluster.compact(live[Int(rng.next(below: UInt64(live.count)))], keep: rng.next(below: 3))
        }
    }

    mutating func proposeRandom(at node: NodeID) {
        let n = nextRequest
        switch rng.next(below: 10) {
        case 0, 1, 2:
            // A unique key: its acknowledgement is checked at the end.
            propose(.put(PutRequest(key: Array("u/\(n)".utf8), value: Array("v\(n)".utf8))), at: node, unique: true)
        case 3, 4:
            let key = Array("shared/\(rng.next(below: 5))".utf8)
            let lease = rng.chance(1, in: 3) ? Int64(rng.next(below: UInt64(nextLease))) : 0
            propose(.put(PutRequest(key: key, value: Array("s\(n)".utf8), lease: lease)), at: node, unique: false)
        case 5:
            let key = Array("shared/\(rng.next(below: 5))".utf8)
            propose(.deleteRange(DeleteRangeRequest(key: key)), at: node, unique: false)
        case 6:
            let key = Array("shared/\(rng.next(below: 5))".utf8)
            let txn = TxnRequest(
                compare: [Compare(key: key, target: .version(0), result: .greater)],
                success: [.put(PutRequest(key: key, value: Array("t\(n)".utf8))), .deleteRange(DeleteRangeRequest(key: Array("shared/0".utf8)))],
                failure: [.put(PutRequest(key: Array("txn/miss".utf8), value: Array("\(n)".utf8)))])
            propose(.txn(txn), at: node, unique: false)
        case 7:
            propose(.leaseGrant(id: nextLease, ttl: 100), at: node, unique: false)
            nextLease += 1
        case 8:
            propose(.leaseRevoke(id: Int64(1 + rng.next(below: UInt64(nextLease)))), at: node, unique: false)
        default:
            if let store = mirrors[node]?.machine.store, store.currentRevision > 10 {
                propose(.compact(CompactionRequest(revision: store.currentRevision - 5)), at: node, unique: false)
            }
        }
    }

    mutating func propose(_ command: Command, at node: NodeID, unique: Bool) {
        let id = nextRequest
        nextRequest += 1
        let data = CommandEnvelope(requestID: id, command: command).encoded()
        do {
            try cluster.propose(node, data)
        } catch {
            return
        }
        if unique, case .put(let p) = command { pending[node, default: [:]][id] = (p.key, p.value) }
    }

    // MARK: Observation

    mutating func observe() {
        for id in cluster.ids {
            guard let node = cluster.node(id) else { continue }
            var mirror = mirrors[id] ?? Mirror()
            let values = node.stateMachine.values
            if node.restarts != mirror.restarts || values.count < mirror.applied {
                // A crash lost the member's memory (and its waiters).
                mirror = Mirror()
                mirror.restarts = node.restarts
                pending[id] = nil
            }
            while mirror.applied < values.count {
                apply(values[mirror.applied], on: id, mirror: &mirror)
                mirror.applied += 1
                check(mirror, node: id)
            }
            mirrors[id] = mirror
        }
    }

    mutating func apply(_ data: [UInt8], on id: NodeID, mirror: inout Mirror) {
        guard let envelope = try? CommandEnvelope(decoding: data) else {
            failure = "undecodable command on node \(id)"
            return
        }
        let (result, events) = mirror.machine.apply(envelope.command)
        // Members drop compacted versions at their own pace; here at once,
        // so the fingerprints of members compare.
        var slices = 0
        while mirror.machine.store.continueCompaction(maxKeys: 7) && slices < 100_000 { slices += 1 }
        // Watch order: strictly by revision, each new main revision the
        // next one (every revision-making command produces events).
        if let last = mirror.events.last, let first = events.first {
            if first.kv.modRevision != last.kv.modRevision + 1 {
                failure = "node \(id): events jump from revision \(last.kv.modRevision) to \(first.kv.modRevision)"
            }
        }
        if events.contains(where: { $0.kv.modRevision != events.first?.kv.modRevision }) {
            failure = "node \(id): one command's events span revisions"
        }
        mirror.events += events
        if let waiter = pending[id]?.removeValue(forKey: envelope.requestID), case .put(let response) = result {
            acks.append(Ack(key: waiter.key, value: waiter.value, revision: response.revision))
        }
    }

    mutating func check(_ mirror: Mirror, node: NodeID) {
        let store = mirror.machine.store
        let print = Fingerprint(
            revision: store.currentRevision, keys: store.keyCount, size: store.sizeEstimate,
            leases: store.leases().count, events: mirror.events.count,
            hash: mirror.applied % 25 == 0 ? (try? store.hashKV(revision: 0).hash) : nil)
        if let known = fingerprints[mirror.applied] {
            if known != print {
                failure = "node \(node) after \(mirror.applied) commands: \(print); another member had \(known)"
            }
        } else {
            fingerprints[mirror.applied] = print
        }
    }

    // MARK: End

    func finalChecks() -> String? {
        let stores = cluster.ids.compactMap { mirrors[$0]?.machine.store }
        guard stores.count == cluster.ids.count, let reference = stores.first else { return "a member never applied" }
        for store in stores where store.currentRevision != reference.currentRevision {
            return "members did not converge: revisions \(stores.map(\.currentRevision))"
        }
        for ack in acks {
            for (id, store) in zip(cluster.ids, stores) {
                let kv = try? store.range(RangeRequest(key: ack.key)).kvs.first
                guard let kv, kv.value == ack.value, kv.modRevision == ack.revision else {
                    return "acknowledged put \(String(decoding: ack.key, as: UTF8.self)) at \(ack.revision) missing on node \(id)"
                }
            }
        }
        // History replay (what a watch from an old revision gets) equals
        // what was delivered live, after the compaction (a delete at exactly
        // the compacted revision is gone with its tombstone, as in etcd).
        for id in cluster.ids {
            guard let mirror = mirrors[id] else { continue }
            let store = mirror.machine.store
            let from = store.compactedRevision + 1
            guard let replay = try? store.events(in: KeyRange(key: [0], rangeEnd: [0]), from: from, to: store.currentRevision)
            else { return "node \(id): history replay failed" }
            let live = mirror.events.filter { $0.kv.modRevision >= from }
            if replay.map(\.kv) != live.map(\.kv) {
                let i = (0..<min(replay.count, live.count)).first { replay[$0].kv != live[$0].kv } ?? min(replay.count, live.count)
                let r = i < replay.count ? "\(replay[i])" : "none"
                let l = i < live.count ? "\(live[i])" : "none"
                return "node \(id): replayed history differs from the live events at \(i) (from \(from)): replay \(r), live \(l)"
            }
        }
        return nil
    }
}
