/// Reads what `BinaryWriter` wrote, validating every length against the bytes that remain.
public struct BinaryReader: Sendable {
    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { position == bytes.count }

    /// Bytes not yet consumed.
    public var remainingCount: Int { bytes.count - position }

    public mutating func readUInt64() throws(BinaryDecodingError) -> UInt64 {
        var result: UInt64 = 0
        // At most ten 7-bit groups fit in 64 bits; the tenth may only contribute one bit.
        for shift in stride(from: UInt64(0), through: 63, by: 7) {
            guard position < bytes.count else { throw .truncated }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw .varintOverflow }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
        }
        throw .varintOverflow
    }

    public mutating func readUInt8() throws(BinaryDecodingError) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func readBool() throws(BinaryDecodingError) -> Bool {
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw .invalidValue("bool \(other)")
        }
    }

    /// A count prefix, checked against the remaining bytes (each element needs at least one),
    /// so a corrupt length can never trigger a huge allocation.
    public mutating func readCount() throws(BinaryDecodingError) -> Int {
        let count = try readUInt64()
        guard count <= UInt64(bytes.count - position) else { throw .truncated }
        return Int(count)
    }

    public mutating func readBytes() throws(BinaryDecodingError) -> [UInt8] {
        let count = try readCount()
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    public mutating func readUInt64Array() throws(BinaryDecodingError) -> [UInt64] {
        let count = try readCount()
        var result: [UInt64] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try readUInt64()) }
        return result
    }

    public mutating func read<T: BinaryCodable>(_: T.Type = T.self) throws(BinaryDecodingError) -> T {
        try T(from: &self)
    }

    public mutating func readArray<T: BinaryCodable>(of _: T.Type = T.self) throws(BinaryDecodingError) -> [T] {
        let count = try readCount()
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try T(from: &self)) }
        return result
    }

    /// Reads an enum raw value, rejecting unknown cases instead of trapping.
    public mutating func readEnum<T: RawRepresentable>(_: T.Type) throws(BinaryDecodingError) -> T
    where T.RawValue == UInt8 {
        let raw = try readUInt8()
        guard let value = T(rawValue: raw) else { throw .invalidValue("\(T.self) \(raw)") }
        return value
    }
}
