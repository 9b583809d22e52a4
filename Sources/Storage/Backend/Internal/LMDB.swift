internal import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small conversions between Swift values and LMDB's C calling convention.
enum LMDB {
    /// `mdb_strerror`'s text: LMDB's own for `MDB_*` codes, `strerror` for
    /// errno values.
    static func message(_ code: Int32) -> String {
        String(cString: mdb_strerror(code))
    }

    /// An `MDB_val` pointing at `bytes` for the duration of `body`. LMDB only
    /// reads through it (the `mutating` pointer is C's lack of `const`). An
    /// empty array may have no storage, so it gets a valid zero-length
    /// pointer instead of nil.
    static func withValue<Result>(_ bytes: [UInt8], _ body: (inout MDB_val) -> Result) -> Result {
        var empty: UInt8 = 0
        return withUnsafeMutablePointer(to: &empty) { emptyPointer in
            bytes.withUnsafeBytes { buffer in
                let start = buffer.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }
                var value = MDB_val(mv_size: buffer.count, mv_data: start ?? UnsafeMutableRawPointer(emptyPointer))
                return body(&value)
            }
        }
    }

    /// The bytes an `MDB_val` returned by LMDB points at (inside the map;
    /// valid until the transaction ends or, in a write transaction, until
    /// the next change).
    static func buffer(_ value: MDB_val) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    /// Byte-wise lexicographic order: LMDB's default key order (memcmp over
    /// the common length, then the shorter first).
    static func compare(_ lhs: UnsafeRawBufferPointer, _ rhs: [UInt8]) -> Int {
        rhs.withUnsafeBytes { rhsBytes in
            let common = min(lhs.count, rhsBytes.count)
            if common > 0, let l = lhs.baseAddress, let r = rhsBytes.baseAddress {
                let order = memcmp(l, r, common)
                if order != 0 { return Int(order) }
            }
            return lhs.count - rhsBytes.count
        }
    }
}
