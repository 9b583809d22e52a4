import NIOCore
import SwiftProtobuf

/// Protobuf straight from and into NIO buffers: a request is decoded from
/// the received bytes in place, and a response is encoded into a buffer
/// that already has room for its 5-byte gRPC prefix, so neither needs an
/// intermediate `[UInt8]` and a copy.
enum ProtobufBytes {
    /// Decodes `message` (exactly the protobuf bytes, no prefix).
    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from message: ByteBuffer) throws -> M {
        try M(serializedBytes: ReadView(buffer: message))
    }

    /// `message` as one length-prefixed gRPC message (flag 0, length, bytes).
    static func framed(_ message: some SwiftProtobuf.Message) throws -> ByteBuffer {
        let framed: FramedWriter = try message.serializedBytes()
        return framed.buffer
    }

    /// Read-only view for decoding; swift-protobuf only reads through
    /// `withUnsafeBytes`.
    private struct ReadView: SwiftProtobufContiguousBytes {
        var buffer: ByteBuffer

        init(buffer: ByteBuffer) { self.buffer = buffer }
        init(repeating: UInt8, count: Int) { buffer = ByteBuffer(repeating: repeating, count: count) }
        init<S: Sequence>(_ sequence: S) where S.Element == UInt8 { buffer = ByteBuffer(bytes: sequence) }
        var count: Int { buffer.readableBytes }
        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try buffer.withUnsafeReadableBytes(body)
        }
        mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
            try buffer.withUnsafeMutableReadableBytes(body)
        }
    }

    /// What swift-protobuf serializes into: it allocates `count` bytes and
    /// writes them through `withUnsafeMutableBytes`; this puts the gRPC
    /// prefix in front of those bytes in the same buffer.
    private struct FramedWriter: SwiftProtobufContiguousBytes {
        var buffer: ByteBuffer

        init(repeating: UInt8, count: Int) {
            buffer = ByteBuffer()
            buffer.reserveCapacity(LengthPrefixedMessageDecoder.prefixLength + count)
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(truncatingIfNeeded: count))
            buffer.writeRepeatingByte(repeating, count: count)
        }
        init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
            let bytes = Array(sequence)
            self.init(repeating: 0, count: bytes.count)
            withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        }
        var count: Int { buffer.readableBytes - LengthPrefixedMessageDecoder.prefixLength }
        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try buffer.withUnsafeReadableBytes { try body(UnsafeRawBufferPointer(rebasing: $0.dropFirst(LengthPrefixedMessageDecoder.prefixLength))) }
        }
        mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
            try buffer.withUnsafeMutableReadableBytes {
                try body(UnsafeMutableRawBufferPointer(rebasing: $0.dropFirst(LengthPrefixedMessageDecoder.prefixLength)))
            }
        }
    }
}
