/// Unique 64-bit IDs without coordination, as etcd makes them for requests
/// and leases: the member's low 16 bits, then 40 bits of the start time in
/// milliseconds, then a counter. Two members, or two runs of one member,
/// never hand out the same ID unless their clocks repeat to the millisecond.
struct IDGenerator: Sendable {
    private let prefix: UInt64
    private var suffix: UInt64

    init(memberID: UInt64, now: ContinuousClock.Instant) {
        prefix = (memberID & 0xFFFF) << 48
        let millis = UInt64(WallClock.millisecondsSinceEpoch())
        suffix = (millis & ((1 << 40) - 1)) << 8
    }

    mutating func next() -> UInt64 {
        suffix = (suffix + 1) & ((1 << 48) - 1)
        return prefix | suffix
    }
}

/// The wall clock, read only to seed ID generation.
enum WallClock {
    static func millisecondsSinceEpoch() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
