import Raft
import RaftTestSupport

/// The Raft core alone, without disks or sockets: a three-node in-memory
/// cluster commits `entries` proposals of `size` bytes, proposed in batches
/// of `batch` per delivery round. Measures what the state machine itself
/// costs per committed entry (message handling, log, progress tracking and
/// the test cluster's safety checker, which runs on every step).
enum CoreBenchmark {
    struct Result {
        var entries: Int
        var seconds: Double
        var entriesPerSecond: Double { Double(entries) / seconds }
    }

    static func run(entries: Int, batch: Int = 100, size: Int = 256) -> Result? {
        let cluster = Cluster(size: 3, seed: 42)
        cluster.mutate(1) { (node: inout RaftNode) in node.campaign() }
        guard cluster.stabilize(), cluster.raft(1)?.role == .leader else { return nil }
        let payload = [UInt8](repeating: 0x61, count: size)
        let start = ContinuousClock.now
        let target = (cluster.raft(1)?.committedIndex ?? 0) + UInt64(entries)
        var proposed = 0
        while proposed < entries {
            let n = min(batch, entries - proposed)
            for _ in 0..<n {
                do {
                    try cluster.mutate(1) { (node: inout RaftNode) throws(RaftError) in try node.propose(payload) }
                } catch {
                    return nil
                }
            }
            proposed += n
            _ = cluster.stabilize()
        }
        guard cluster.ids.allSatisfy({ (cluster.raft($0)?.committedIndex ?? 0) >= target }) else { return nil }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(entries: entries, seconds: seconds)
    }
}
