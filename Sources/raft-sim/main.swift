#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Raft
import RaftTestSupport

/// `raft-sim --seeds N` sweeps seeds 1...N; `raft-sim --seed S` replays one seed verbosely.
/// Exits 1 (printing the failing seed) if any run violates safety or liveness.

func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}

func usage() -> Never {
    print("usage: raft-sim --seeds N | --seed S [--trace] | --bench ENTRIES")
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var simulator = Simulator()
if let traceFlag = arguments.firstIndex(of: "--trace") {
    arguments.remove(at: traceFlag)
    simulator.trace = { print($0) }
}
guard arguments.count == 2, let value = UInt64(arguments[1]) else { usage() }

switch arguments[0] {
case "--seed":
    let report = simulator.run(seed: value)
    print(report)
    exit(report.passed ? 0 : 1)
case "--seeds":
    var failures: [SimulationReport] = []
    for seed in 1...max(value, 1) {
        // The current seed on stderr, so even a trap identifies the seed that caused it.
        writeToStandardError("\rseed \(seed)")
        let report = simulator.run(seed: seed)
        if !report.passed {
            print(report)
            failures.append(report)
        }
    }
    writeToStandardError("\n")
    if failures.isEmpty {
        print("raft-sim: \(value) seeds passed")
        exit(0)
    }
    print("raft-sim: \(failures.count) of \(value) seeds failed: \(failures.map { String($0.seed) }.joined(separator: ", "))")
    print("replay with: swift run raft-sim --seed \(failures[0].seed)")
    exit(1)
case "--bench":
    guard let result = CoreBenchmark.run(entries: Int(value)) else {
        print("raft-sim: benchmark cluster failed to commit")
        exit(1)
    }
    let seconds = Double(Int(result.seconds * 1000)) / 1000
    print("raft-sim bench: 3 nodes in memory, \(result.entries) entries of 256 B committed in \(seconds) s: \(Int(result.entriesPerSecond)) entries/s")
default:
    usage()
}
