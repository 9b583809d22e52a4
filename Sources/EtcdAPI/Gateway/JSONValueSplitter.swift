/// Cuts a byte stream into successive JSON values, as Go's `json.Decoder`
/// reads a gateway request body: a unary route takes the first value and
/// ignores the rest, a streaming route (watch, lease keep-alive) sends
/// each value as one request. Only the value's extent is found here
/// (brackets and strings, with escapes); SwiftProtobuf parses it.
struct JSONValueSplitter: Sendable {
    private var pending: [UInt8] = []
    /// Where scanning stopped in `pending` (the bytes before are the start
    /// of an incomplete value), and the scanner's state there.
    private var scanned = 0
    private var depth = 0
    private var inString = false
    private var escaped = false

    /// Adds bytes and returns every value they complete.
    mutating func append(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        pending.append(contentsOf: bytes)
        var values: [[UInt8]] = []
        while let value = nextValue() { values.append(value) }
        return values
    }

    /// What is left once the input ended: a last value not closed by a
    /// bracket (a bare number, say, or a truncated object), nil if only
    /// whitespace remains.
    mutating func finish() -> [UInt8]? {
        let rest = pending.drop { Self.isWhitespace($0) }
        pending = []
        scanned = 0
        return rest.isEmpty ? nil : Array(rest)
    }

    private mutating func nextValue() -> [UInt8]? {
        // Skip whitespace before a value.
        if scanned == 0 {
            let start = pending.firstIndex { !Self.isWhitespace($0) } ?? pending.endIndex
            pending.removeFirst(start)
            guard !pending.isEmpty else { return nil }
        }
        var index = scanned
        while index < pending.count {
            let byte = pending[index]
            index += 1
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return take(index) }
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth <= 0 { return take(index) }
            default:
                // A scalar at the top level ends at whitespace or at the
                // start of another value.
                if depth == 0, index > 1,
                    Self.isWhitespace(byte) || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[")
                {
                    return take(index - 1)
                }
            }
        }
        scanned = index
        return nil
    }

    /// Removes and returns the first `count` bytes as one value.
    private mutating func take(_ count: Int) -> [UInt8] {
        let value = Array(pending[..<count])
        pending.removeFirst(count)
        scanned = 0
        depth = 0
        inString = false
        escaped = false
        return value
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
