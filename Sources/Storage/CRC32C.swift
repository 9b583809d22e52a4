/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum
/// etcd's WAL and most storage engines use: it detects all burst errors up
/// to 32 bits and has hardware support on common CPUs.
///
/// `update(crc, bytes)` continues a checksum, so
/// `update(checksum(a), b) == checksum(a + b)`. The WAL relies on this to
/// chain every record's checksum from the previous one.
public enum CRC32C {
    /// Byte-at-a-time lookup table, built once.
    static let table: [UInt32] = (0..<256).map { (n: Int) -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 {
            c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1
        }
        return c
    }

    /// The checksum of `bytes` on its own.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        update(0, bytes)
    }

    /// The checksum of (whatever produced `crc`) followed by `bytes`.
    public static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(crc, $0) }
    }

    /// The checksum of (whatever produced `crc`) followed by `bytes[range]`.
    public static func update(_ crc: UInt32, _ bytes: [UInt8], range: Range<Int>) -> UInt32 {
        bytes.withUnsafeBytes { update(crc, UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// The checksum of (whatever produced `crc`) followed by `buffer`.
    public static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var c = ~crc
            for byte in buffer {
                c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8)
            }
            return ~c
        }
    }
}
