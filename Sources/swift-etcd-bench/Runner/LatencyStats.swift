import Histogram

/// One client's results: latencies of successful requests in microseconds
/// (an HDR histogram, so percentiles stay exact to three digits without
/// keeping every sample) and failures counted by kind; merged at the end.
struct LatencyStats: Sendable {
    private(set) var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    private(set) var errors: [String: Int] = [:]

    var successes: Int { Int(histogram.totalCount) }
    var failures: Int { errors.values.reduce(0, +) }

    mutating func record(_ latency: Duration) {
        histogram.record(latency.microseconds)
    }

    mutating func recordFailure(_ error: any Error) {
        errors[ErrorLabel.of(error), default: 0] += 1
    }

    mutating func recordFailure(label: String) {
        errors[label, default: 0] += 1
    }

    mutating func merge(_ other: LatencyStats) {
        histogram.add(other.histogram)
        errors.merge(other.errors, uniquingKeysWith: +)
    }

    var summary: LatencySummary { LatencySummary(histogram) }
}

/// Percentiles in milliseconds, as etcd's tool reports them.
struct LatencySummary: Encodable, Sendable {
    let averageMs: Double
    let p50Ms: Double
    let p90Ms: Double
    let p99Ms: Double
    let p999Ms: Double
    let maxMs: Double

    init(_ histogram: Histogram<UInt64>) {
        let empty = histogram.totalCount == 0
        func ms(_ micros: UInt64) -> Double { empty ? 0 : Double(micros) / 1000 }
        averageMs = empty ? 0 : histogram.mean / 1000
        p50Ms = ms(histogram.valueAtPercentile(50))
        p90Ms = ms(histogram.valueAtPercentile(90))
        p99Ms = ms(histogram.valueAtPercentile(99))
        p999Ms = ms(histogram.valueAtPercentile(99.9))
        maxMs = ms(histogram.max)
    }

    var text: String {
        String(format: "avg %.3f  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f",
               averageMs, p50Ms, p90Ms, p99Ms, p999Ms, maxMs)
    }
}

extension Duration {
    var microseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
    }

    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
