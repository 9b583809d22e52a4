import Raft

/// Runs small, readable cluster scripts in the style of etcd-io/raft's interaction tests.
///
/// One command per line; `#` starts a comment. Actions:
///
///     add-nodes 3 [election=10] [heartbeat=1] [prevote=off] [checkquorum=off] [seed=7]
///     campaign 1            tick 1 [n]            tick-all [n]        stabilize
///     partition 1 | 2 3     isolate 1             heal                cut 1 2
///     faults drop=200 duplicate=100 delay=2 reorder=on   (per mille; `faults` alone clears)
///     crash 1               restart 1             compact 1 [keep]
///     propose 1 data        read-index 1 ctx      transfer-leader 1 2
///     add-learner 1 4       add-voter 1 4         remove-node 1 3
///
/// An action that can fail may end in `=> error` (e.g. `propose 2 x => noLeader`) to expect
/// that error; otherwise any error is a failure. Assertions:
///
///     expect leader 1       expect role 2 follower     expect lead 2 1
///     expect term 1 2       expect commit 1 5          expect applied 2 x y z
///     expect read 1 ctx     expect no-read 1 ctx       expect voters 1 1 2 3
///     expect learners 1 4
public final class ScriptRunner {
    public private(set) var cluster = Cluster(size: 1)
    public private(set) var failures: [ScriptFailure] = []

    public init() {}

    /// Runs `script` and returns every failure (empty means the script passed).
    @discardableResult
    public func run(_ script: String) -> [ScriptFailure] {
        for (offset, rawLine) in script.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let text = line.trimmingWhitespace()
            guard !text.isEmpty else { continue }
            if let message = execute(text) {
                failures.append(ScriptFailure(line: offset + 1, command: text, message: message))
            }
        }
        return failures
    }

    private func execute(_ text: String) -> String? {
        var expectedError: String?
        var command = text
        let parts = text.split(separator: "=>", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            command = parts[0].trimmingWhitespace()
            expectedError = parts[1].trimmingWhitespace()
        }
        let words = command.split(separator: " ").map(String.init)
        guard let verb = words.first else { return nil }
        let args = Array(words.dropFirst())
        do {
            try perform(verb, args)
            if let expectedError { return "expected error \(expectedError), but it succeeded" }
            return nil
        } catch let error as RaftError {
            if let expectedError, expectedError == "\(error)" { return nil }
            return "unexpected error \(error)"
        } catch let failure as ScriptError {
            return failure.message + " — cluster: " + cluster.summary
        } catch {
            return "\(error)"
        }
    }

    private struct ScriptError: Error {
        var message: String
    }

    private func id(_ args: [String], _ position: Int) throws -> NodeID {
        guard position < args.count, let value = NodeID(args[position]) else {
            throw ScriptError(message: "argument \(position + 1) must be a node ID")
        }
        return value
    }

    private func number(_ args: [String], _ position: Int, default value: Int) throws -> Int {
        guard position < args.count else { return value }
        guard let n = Int(args[position]) else { throw ScriptError(message: "argument \(position + 1) must be a number") }
        return n
    }

    private func perform(_ verb: String, _ args: [String]) throws {
        switch verb {
        case "add-nodes":
            try addNodes(args)
        case "campaign":
            cluster.campaign(try id(args, 0))
        case "tick":
            cluster.tick(try id(args, 0), times: try number(args, 1, default: 1))
        case "tick-all":
            cluster.run(rounds: try number(args, 0, default: 1))
        case "stabilize":
            if !cluster.stabilize() { throw ScriptError(message: "did not stabilize") }
        case "partition":
            let groups = args.split(separator: "|").map { $0.compactMap { NodeID($0) } }
            cluster.partition(groups)
        case "isolate":
            cluster.isolate(try id(args, 0))
        case "heal":
            cluster.heal()
        case "cut":
            cluster.network.cut(from: try id(args, 0), to: try id(args, 1))
        case "faults":
            var faults = NetworkFaults()
            for option in args {
                let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let value = UInt64(parts[1]) ?? (parts[1] == "on" ? 1 : parts[1] == "off" ? 0 : nil) else {
                    throw ScriptError(message: "bad fault \(option)")
                }
                switch parts[0] {
                case "drop": faults.dropPerMille = value
                case "duplicate": faults.duplicatePerMille = value
                case "delay": faults.maxDelay = value
                case "reorder": faults.reorder = value != 0
                default: throw ScriptError(message: "unknown fault \(parts[0])")
                }
            }
            cluster.network.faults = faults
        case "crash":
            cluster.crash(try id(args, 0))
        case "restart":
            cluster.restart(try id(args, 0))
        case "compact":
            cluster.compact(try id(args, 0), keep: UInt64(try number(args, 1, default: 0)))
        case "propose":
            guard args.count == 2 else { throw ScriptError(message: "usage: propose ID DATA") }
            try cluster.propose(try id(args, 0), Array(args[1].utf8))
        case "read-index":
            guard args.count == 2 else { throw ScriptError(message: "usage: read-index ID CONTEXT") }
            try cluster.readIndex(try id(args, 0), context: Array(args[1].utf8))
        case "transfer-leader":
            cluster.transferLeader(try id(args, 0), to: try id(args, 1))
        case "add-learner":
            try cluster.proposeConfChange(try id(args, 0), ConfChange(type: .addLearnerNode, nodeID: try id(args, 1)))
        case "add-voter":
            try cluster.proposeConfChange(try id(args, 0), ConfChange(type: .addNode, nodeID: try id(args, 1)))
        case "remove-node":
            try cluster.proposeConfChange(try id(args, 0), ConfChange(type: .removeNode, nodeID: try id(args, 1)))
        case "expect":
            try expect(args)
        default:
            throw ScriptError(message: "unknown command \(verb)")
        }
        if let violation = cluster.checker.violations.first {
            throw ScriptError(message: "safety violation: \(violation)")
        }
    }

    private func addNodes(_ args: [String]) throws {
        let count = try number(args, 0, default: 1)
        var options: [String: String] = [:]
        for option in args.dropFirst() {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ScriptError(message: "bad option \(option)") }
            options[parts[0]] = parts[1]
        }
        cluster = Cluster(
            size: count,
            seed: options["seed"].flatMap { UInt64($0) } ?? 1,
            electionTick: options["election"].flatMap { Int($0) } ?? 10,
            heartbeatTick: options["heartbeat"].flatMap { Int($0) } ?? 1,
            checkQuorum: options["checkquorum"] != "off",
            preVote: options["prevote"] != "off")
    }

    private func raft(_ id: NodeID) throws -> RaftNode {
        guard let raft = cluster.raft(id) else { throw ScriptError(message: "node \(id) is not running") }
        return raft
    }

    private func expect(_ args: [String]) throws {
        guard let what = args.first else { throw ScriptError(message: "expect what?") }
        let rest = Array(args.dropFirst())
        let node = try id(rest, 0)
        let values = Array(rest.dropFirst())
        func check(_ actual: String, _ expected: String) throws {
            if actual != expected { throw ScriptError(message: "node \(node) \(what) is \(actual), expected \(expected)") }
        }
        switch what {
        case "leader":
            let r = try raft(node)
            try check("\(r.role)", "leader")
            let disagreeing = cluster.liveIDs.filter {
                cluster.network.isConnected($0, node) && cluster.raft($0)?.lead != node
                    && cluster.raft($0)?.confState.voters.contains($0) == true
            }
            if !disagreeing.isEmpty { throw ScriptError(message: "nodes \(disagreeing) do not follow \(node)") }
        case "role":
            try check("\(try raft(node).role)", values.first ?? "")
        case "lead":
            try check("\(try raft(node).lead)", values.first ?? "")
        case "term":
            try check("\(try raft(node).term)", values.first ?? "")
        case "commit":
            try check("\(try raft(node).committedIndex)", values.first ?? "")
        case "applied":
            let applied = cluster.node(node)?.stateMachine.values.map { String(decoding: $0, as: UTF8.self) } ?? []
            try check(applied.joined(separator: " "), values.joined(separator: " "))
        case "read", "no-read":
            guard let context = values.first else { throw ScriptError(message: "expect \(what) ID CONTEXT") }
            let reads = cluster.node(node)?.readStates ?? []
            let found = reads.contains { $0.requestContext == Array(context.utf8) }
            if found != (what == "read") {
                throw ScriptError(message: "node \(node) \(found ? "has" : "has no") read state \(context)")
            }
        case "voters":
            try check("\(try raft(node).confState.voters)", "\(values.compactMap { NodeID($0) })")
        case "learners":
            try check("\(try raft(node).confState.learners)", "\(values.compactMap { NodeID($0) })")
        default:
            throw ScriptError(message: "unknown expectation \(what)")
        }
    }
}
