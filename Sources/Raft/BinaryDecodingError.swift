/// Why a byte string could not be decoded. Decoding never traps on malformed input.
public enum BinaryDecodingError: Error, Sendable, Hashable {
    case truncated
    case varintOverflow
    case invalidValue(String)
    case trailingBytes(Int)
}
