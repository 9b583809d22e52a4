import Foundation

/// What one request benchmark measured, printed for people (`-w simple`)
/// or as one JSON line for scripts (`-w json`).
struct BenchReport: Encodable, Sendable {
    let benchmark: String
    let endpoints: String
    let conns: Int
    let clients: Int
    let total: Int
    let succeeded: Int
    let failed: Int
    let errors: [String: Int]
    let elapsedSeconds: Double
    let requestsPerSecond: Double
    let latency: LatencySummary
    let resources: ResourceUsage
    /// Server CPU milliseconds per successful request, when PIDs were given.
    let serverCPUMsPerRequest: Double?

    init(benchmark: String, options: GlobalOptions, endpoints: [ServerAddress],
         outcome: LoadRunner.Outcome, resources: ResourceUsage) {
        self.benchmark = benchmark
        self.endpoints = endpoints.map(\.description).joined(separator: ",")
        conns = options.conns
        clients = options.clients
        total = options.total
        succeeded = outcome.stats.successes
        failed = outcome.stats.failures
        errors = outcome.stats.errors
        elapsedSeconds = outcome.elapsed.seconds
        requestsPerSecond = elapsedSeconds > 0 ? Double(succeeded) / elapsedSeconds : 0
        latency = outcome.stats.summary
        self.resources = resources
        let ok = outcome.stats.successes
        serverCPUMsPerRequest = resources.serverCPUSeconds.flatMap { cpu in
            ok > 0 ? cpu * 1000 / Double(ok) : nil
        }
    }

    var text: String {
        var lines = [
            "\(benchmark): \(total) requests, \(clients) clients over \(conns) conns to \(endpoints)",
            String(format: "  total       %.4f s", elapsedSeconds),
            "  succeeded   \(succeeded)   failed \(failed)",
            String(format: "  requests/s  %.1f", requestsPerSecond),
            "  latency ms  \(latency.text)",
            "  resources   \(resources.text)"
                + (serverCPUMsPerRequest.map { String(format: " (%.3f ms server cpu/request)", $0) } ?? ""),
        ]
        for (label, count) in errors.sorted(by: { $0.value > $1.value }) {
            lines.append("  error       \(count) × \(label)")
        }
        return lines.joined(separator: "\n")
    }
}

enum ReportPrinter {
    static func print<R: Encodable>(_ report: R, text: String, format: OutputFormat) {
        switch format {
        case .simple:
            Swift.print(text)
        case .json:
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(report) {
                Swift.print(String(decoding: data, as: UTF8.self))
            } else {
                Swift.print(text)
            }
        }
    }
}
