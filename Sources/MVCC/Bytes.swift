#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-string ordering as etcd uses it for keys (Go's `bytes.Compare`):
/// lexicographic by unsigned byte, a proper prefix sorting first.
enum Bytes {
    /// Negative, zero or positive as `a` sorts before, equal to or after `b`.
    @inline(__always)
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let common = min(a.count, b.count)
        let c: Int32 = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                guard common > 0, let x = pa.baseAddress, let y = pb.baseAddress else { return 0 }
                return memcmp(x, y, common)
            }
        }
        if c != 0 { return Int(c) }
        return a.count - b.count
    }

    @inline(__always)
    static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool { compare(a, b) < 0 }
}

extension KeyRange {
    /// The range's upper bound as the index uses it: `nil` for a single key,
    /// empty for "no upper bound" (etcd's `[0]` from-key marker), else the
    /// exclusive end.
    var indexEnd: [UInt8]? { Self.indexEnd(rangeEnd) }

    static func indexEnd(_ rangeEnd: [UInt8]) -> [UInt8]? {
        if rangeEnd.isEmpty { return nil }
        if rangeEnd.count == 1 && rangeEnd[0] == 0 { return [] }
        return rangeEnd
    }

    /// Whether `candidate` falls in this range.
    func contains(_ candidate: [UInt8]) -> Bool {
        guard let end = indexEnd else { return candidate == key }
        if Bytes.less(candidate, key) { return false }
        return end.isEmpty || Bytes.less(candidate, end)
    }
}
