/// The Protocol Buffers wire format, as much as etcd's backend records
/// need (`mvccpb.KeyValue`, `leasepb.Lease`, `authpb.User`/`Role`,
/// `etcdserverpb.AlarmMember`): varints and length-delimited fields.
/// Hand-written so the server layer does not depend on the generated API
/// types; gogoproto's rules are followed (fields in number order, proto3
/// zero values left out), so what we write is byte-for-byte what etcd
/// writes for the same record.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    /// A varint field; left out when zero (proto3).
    mutating func uint64(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, wireType: 0)
        varint(value)
    }

    /// An int64 field (negative numbers take ten bytes, as in Go).
    mutating func int64(_ field: Int, _ value: Int64) { uint64(field, UInt64(bitPattern: value)) }

    mutating func bool(_ field: Int, _ value: Bool) { uint64(field, value ? 1 : 0) }

    /// A bytes or string field; left out when empty (proto3).
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        guard !value.isEmpty else { return }
        lengthDelimited(field, value)
    }

    /// An element of a repeated string: written even when empty.
    mutating func repeatedString(_ field: Int, _ value: String) { lengthDelimited(field, Array(value.utf8)) }

    /// An embedded message: written whenever the message is present, even
    /// empty (gogoproto writes a non-nil pointer).
    mutating func message(_ field: Int, _ encoded: [UInt8]) { lengthDelimited(field, encoded) }

    private mutating func lengthDelimited(_ field: Int, _ value: [UInt8]) {
        tag(field, wireType: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    private mutating func tag(_ field: Int, wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
}

/// Reads the fields of one message in order; unknown fields are skipped
/// by the caller, malformed input is an error (never a trap).
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        /// fixed64 and fixed32 fields, which none of our records use.
        case fixed
    }

    private let bytes: [UInt8]
    private var position: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        position = 0
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(ProtobufError) -> (field: Int, value: Value)? {
        guard position < bytes.count else { return nil }
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0, key >> 3 <= UInt64(Int32.max) else { throw .malformed("field number \(key >> 3)") }
        switch key & 7 {
        case 0:
            return (field, .varint(try varint()))
        case 1:
            try skip(8)
            return (field, .fixed)
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.count - position) else { throw .malformed("length past the end") }
            let start = position
            position += Int(length)
            return (field, .bytes(bytes[start..<position]))
        case 5:
            try skip(4)
            return (field, .fixed)
        default:
            throw .malformed("wire type \(key & 7)")
        }
    }

    private mutating func skip(_ n: Int) throws(ProtobufError) {
        guard bytes.count - position >= n else { throw .malformed("truncated") }
        position += n
    }

    private mutating func varint() throws(ProtobufError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw .malformed("truncated varint") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw .malformed("varint longer than ten bytes") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }
}

/// A record that does not parse as the protobuf message it should be.
struct ProtobufError: Error, Sendable, Hashable, CustomStringConvertible {
    var reason: String
    static func malformed(_ reason: String) -> ProtobufError { ProtobufError(reason: reason) }
    var description: String { "malformed protobuf: \(reason)" }
}

extension ProtobufReader.Value {
    /// The field as an integer; a field of another wire type is malformed.
    func integer() throws(ProtobufError) -> UInt64 {
        guard case .varint(let v) = self else { throw .malformed("expected a varint") }
        return v
    }

    func data() throws(ProtobufError) -> [UInt8] {
        guard case .bytes(let b) = self else { throw .malformed("expected a length-delimited field") }
        return Array(b)
    }
}
