/// The keys one user may read, or write, merged from all its roles: etcd's
/// `unifiedRangePermissions`, with the semantics of the byte-key interval
/// tree it is built on (`adt.IntervalTree` of `BytesAffineComparable`), so
/// that a request etcd allows is allowed here and one it refuses, refused.
///
/// Intervals are half-open, `[begin, end)`, and an empty byte string
/// compares above every other (an empty end is "no end"). A grant of a
/// single key `k` is the interval `[k, k + "\0")`.
struct KeyIntervals: Sendable, Hashable {
    struct Interval: Sendable, Hashable {
        var begin: [UInt8]
        var end: [UInt8]
    }

    /// Sorted by begin, then end (the order etcd's tree visits them in).
    private(set) var intervals: [Interval]

    init(_ intervals: [Interval]) {
        self.intervals = intervals.sorted { a, b in
            let c = Self.compare(a.begin, b.begin)
            return c != 0 ? c < 0 : Self.compare(a.end, b.end) < 0
        }
    }

    /// The intervals of the grants in `permissions` that allow `access`
    /// (`.read` or `.write`; a read-write grant counts for both).
    init(permissions: [KeyPermission], allowing access: KeyPermission.Access) {
        self.init(permissions.filter { $0.access.allows(access) }.map(Self.interval(of:)))
    }

    /// etcd's `getMergedPerms`: a grant's range end `[0]` means no end, an
    /// empty one a single key.
    static func interval(of permission: KeyPermission) -> Interval {
        if permission.rangeEnd.isEmpty { return point(permission.key) }
        return Interval(begin: permission.key, end: permission.rangeEnd == [0] ? [] : permission.rangeEnd)
    }

    static func point(_ key: [UInt8]) -> Interval {
        Interval(begin: key, end: key + [0])
    }

    /// Whether a request for `key` (and `rangeEnd`, as a Range or
    /// DeleteRange carries it) is allowed: a single key must lie in some
    /// interval (etcd's `checkKeyPoint`), a range must be covered by the
    /// union of the intervals without a gap (`checkKeyInterval`).
    func permits(key: [UInt8], rangeEnd: [UInt8]) -> Bool {
        if rangeEnd.isEmpty { return intersects(Self.point(key)) }
        return covers(Interval(begin: key, end: rangeEnd == [0] ? [] : rangeEnd))
    }

    /// Whether any interval overlaps `request`.
    func intersects(_ request: Interval) -> Bool {
        intervals.contains { Self.overlaps(request, $0) }
    }

    /// etcd's `IntervalTree.Contains`: the intervals overlapping `request`,
    /// in order, leave no gap between them and span it from end to end.
    func covers(_ request: Interval) -> Bool {
        var minBegin: [UInt8]?
        var maxEnd: [UInt8] = []
        for interval in intervals where Self.overlaps(request, interval) {
            guard minBegin != nil else {
                minBegin = interval.begin
                maxEnd = interval.end
                continue
            }
            if Self.compare(maxEnd, interval.begin) < 0 { return false }
            if Self.compare(interval.end, maxEnd) > 0 { maxEnd = interval.end }
        }
        guard let minBegin else { return false }
        return Self.compare(maxEnd, request.end) >= 0 && Self.compare(minBegin, request.begin) <= 0
    }

    /// etcd's `Interval.Compare(...) == 0`.
    static func overlaps(_ a: Interval, _ b: Interval) -> Bool {
        let leftOf = compare(a.begin, b.begin) < 0 && compare(a.end, b.begin) <= 0
        let rightOf = compare(a.begin, b.end) >= 0
        return !leftOf && !rightOf
    }

    /// Byte order in which the empty string is greater than every other
    /// (etcd's `BytesAffineComparable`).
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        switch (a.isEmpty, b.isEmpty) {
        case (true, true): return 0
        case (true, false): return 1
        case (false, true): return -1
        case (false, false):
            if a == b { return 0 }
            return a.lexicographicallyPrecedes(b) ? -1 : 1
        }
    }
}
