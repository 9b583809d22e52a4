import Raft

/// A peer broke the wire protocol. Each of these closes the offending connection (and only it).
enum PeerProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    case frameTooLarge(length: Int, limit: Int)
    case emptyFrame
    case unknownFrameKind(UInt8)
    case badMagic
    case malformedFrame(String)
    case unexpectedFrame(String)
    case undecodableMessage(BinaryDecodingError)
    case handshakeTimeout
    case invalidSnapshotChunk(String)

    var description: String {
        switch self {
        case let .frameTooLarge(length, limit): "frame of \(length) bytes exceeds the limit of \(limit)"
        case .emptyFrame: "empty frame"
        case let .unknownFrameKind(kind): "unknown frame kind \(kind)"
        case .badMagic: "not a SwiftEtcd peer connection (bad magic)"
        case let .malformedFrame(what): "malformed frame: \(what)"
        case let .unexpectedFrame(what): "unexpected frame: \(what)"
        case let .undecodableMessage(error): "undecodable Raft message: \(error)"
        case .handshakeTimeout: "no handshake in time"
        case let .invalidSnapshotChunk(what): "invalid snapshot chunk: \(what)"
        }
    }
}
