import Raft

/// The Protocol Buffers wire format, as much as etcd's backend records
/// need (`mvccpb.KeyValue`, `leasepb.Lease`, `authpb.User`/`Role`,
/// `etcdserverpb.AlarmMember`): varints and length-delimited fields.
/// Hand-written so the server layer does not depend on the generated API
/// types; gogoproto's rules are followed (fields in number order, proto3
/// zero values left out), so what we write is byte-for-byte what etcd
/// writes for the same record.
struct ProtobufWriter {
    /// Raft's codec writes the same base-128 varints and length-prefixed
    /// byte strings the protobuf wire format is made of.
    private var writer = BinaryWriter()

    var bytes: [UInt8] { writer.bytes }

    /// A varint field; left out when zero (proto3).
    mutating func uint64(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, wireType: 0)
        writer.write(value)
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
        writer.write(value)
    }

    private mutating func tag(_ field: Int, wireType: UInt64) { writer.write(UInt64(field) << 3 | wireType) }
}

/// Reads the fields of one message in order; unknown fields are skipped
/// by the caller, malformed input is an error (never a trap).
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case bytes([UInt8])
        /// fixed64 and fixed32 fields, which none of our records use.
        case fixed
    }

    private var reader: BinaryReader

    init(_ bytes: [UInt8]) { reader = BinaryReader(bytes) }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(ProtobufError) -> (field: Int, value: Value)? {
        guard !reader.isAtEnd else { return nil }
        do {
            let key = try reader.readUInt64()
            guard key >> 3 > 0, key >> 3 <= UInt64(Int32.max) else { throw ProtobufError.malformed("field number \(key >> 3)") }
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: return (field, .varint(try reader.readUInt64()))
            case 1, 5:
                for _ in 0..<(key & 7 == 1 ? 8 : 4) { _ = try reader.readUInt8() }
                return (field, .fixed)
            case 2: return (field, .bytes(try reader.readBytes()))
            default: throw ProtobufError.malformed("wire type \(key & 7)")
            }
        } catch let error as ProtobufError {
            throw error
        } catch {
            throw .malformed("\(error)")
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
        return b
    }
}
