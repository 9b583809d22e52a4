/// Appends the compact binary encoding used by `BinaryCodable`: unsigned LEB128 varints for
/// integers and length-prefixed byte strings. Small, stable and independent of Foundation.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// A writer whose buffer holds `capacity` bytes before it must grow:
    /// an encoding that lives on (a log entry) then wastes no capacity.
    public init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ data: [UInt8]) {
        write(UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    public mutating func write(_ values: [UInt64]) {
        write(UInt64(values.count))
        for v in values { write(v) }
    }

    public mutating func write<T: BinaryCodable>(_ value: T) { value.encode(to: &self) }

    public mutating func write<T: BinaryCodable>(_ values: [T]) {
        write(UInt64(values.count))
        for v in values { v.encode(to: &self) }
    }
}
