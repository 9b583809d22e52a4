/// Unique 64-bit IDs without coordination, as etcd makes them for requests
/// and leases: the member's low 16 bits, then 40 bits of the start time in
/// milliseconds, then a counter. Two members, or two runs of one member,
/// never hand out the same ID unless their clocks repeat to the millisecond.
struct IDGenerator: Sendable {
    private let prefix: UInt64
    private var suffix: UInt64

    /// `startMillis`: wall-clock milliseconds at start, passed in so the
    /// generator itself reads no clock.
    init(memberID: UInt64, startMillis: Int64) {
        prefix = (memberID & 0xFFFF) << 48
        suffix = (UInt64(truncatingIfNeeded: startMillis) & ((1 << 40) - 1)) << 8
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
