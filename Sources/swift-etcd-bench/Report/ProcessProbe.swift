import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU time and resident memory of a process, read from /proc, so that a
/// run reports what the server spent per request, not only how fast the
/// answers came (on a shared 2-core machine both matter).
struct ProcessSample: Sendable {
    let cpuSeconds: Double
    /// Resident set size in KiB (what /proc calls "kB"), as are all `…Kb` fields.
    let rssKb: Int
}

enum ProcessProbe {
    /// nil when the process is gone or /proc is unreadable.
    static func sample(pid: Int32) -> ProcessSample? {
        guard let stat = read("/proc/\(pid)/stat"), let status = read("/proc/\(pid)/status") else { return nil }
        // The command name in field 2 may hold spaces; fields after its ')'
        // start at field 3 (state), so utime (14) and stime (15) are 11, 12.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticks > 0 else { return nil }
        return ProcessSample(cpuSeconds: (utime + stime) / ticks, rssKb: rssKb(status: status) ?? 0)
    }

    /// This process's own CPU time (user + system), to show when the client
    /// itself may be what limits a run.
    static func selfCPUSeconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func rssKb(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }

    /// /proc files report size 0, so read until EOF rather than by size
    /// (Foundation's readers trust the size).
    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return count == 0 ? String(decoding: bytes, as: UTF8.self) : nil }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}

/// Resource use between two moments: client CPU, and CPU and RSS of the
/// `--server-pids` processes (summed over a cluster).
struct ResourceMeter: Sendable {
    let pids: [Int32]
    private let clientCPUAtStart: Double
    private let serverCPUAtStart: Double?

    init(pids: [Int32]) {
        self.pids = pids
        clientCPUAtStart = ProcessProbe.selfCPUSeconds()
        serverCPUAtStart = Self.serverTotals(pids)?.cpuSeconds
    }

    func finish() -> ResourceUsage {
        let end = Self.serverTotals(pids)
        var serverCPU: Double?
        if let end, let serverCPUAtStart { serverCPU = end.cpuSeconds - serverCPUAtStart }
        return ResourceUsage(
            clientCPUSeconds: ProcessProbe.selfCPUSeconds() - clientCPUAtStart,
            serverCPUSeconds: serverCPU, serverRSSKb: end?.rssKb)
    }

    /// Summed over all PIDs; nil unless every one could be read.
    static func serverTotals(_ pids: [Int32]) -> ProcessSample? {
        guard !pids.isEmpty else { return nil }
        var cpu = 0.0, rss = 0
        for pid in pids {
            guard let sample = ProcessProbe.sample(pid: pid) else { return nil }
            cpu += sample.cpuSeconds
            rss += sample.rssKb
        }
        return ProcessSample(cpuSeconds: cpu, rssKb: rss)
    }
}

struct ResourceUsage: Encodable, Sendable {
    let clientCPUSeconds: Double
    let serverCPUSeconds: Double?
    let serverRSSKb: Int?

    var text: String {
        var parts = [String(format: "client cpu %.2f s", clientCPUSeconds)]
        if let serverCPUSeconds { parts.append(String(format: "server cpu %.2f s", serverCPUSeconds)) }
        if let serverRSSKb { parts.append(String(format: "server rss %.1f MiB", Double(serverRSSKb) / 1024)) }
        return parts.joined(separator: ", ")
    }
}
