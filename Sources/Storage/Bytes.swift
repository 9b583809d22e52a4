/// Little-endian integer encoding used by every on-disk structure here.
enum LittleEndian {
    static func append(_ value: UInt16, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 16, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
    static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    /// Reads `width` bytes at `offset` as an unsigned integer, or nil when
    /// the bytes are not all there. Never traps on short input.
    static func read(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64? {
        guard offset >= 0, width <= 8, offset <= bytes.count - width else { return nil }
        var value: UInt64 = 0
        for i in 0..<width {
            value |= UInt64(bytes[offset + i]) << (8 * UInt64(i))
        }
        return value
    }
    static func readUInt16(_ bytes: [UInt8], at offset: Int) -> UInt16? {
        read(bytes, at: offset, width: 2).map { UInt16(truncatingIfNeeded: $0) }
    }
    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32? {
        read(bytes, at: offset, width: 4).map { UInt32(truncatingIfNeeded: $0) }
    }
    static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64? {
        read(bytes, at: offset, width: 8)
    }
}

/// Slash-separated path helpers. Paths stay `String`s so both file systems
/// and error messages share one spelling.
enum Path {
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The components of a path, ignoring empty and "." ones
    /// ("/a//./b/" → ["a", "b"]).
    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
    }

    /// Every directory above `path`, nearest first, ending at "/" for an
    /// absolute path or "." for a relative one (etcd's default data
    /// directory, "default.etcd", is relative). These are the directories
    /// whose fsync makes a newly created `path` durable.
    static func ancestors(of path: String) -> [String] {
        let root = path.hasPrefix("/") ? "/" : "."
        var parts = components(path)
        var result: [String] = []
        while !parts.isEmpty {  // one pass per component
            parts.removeLast()
            result.append(parts.isEmpty ? root : (root == "/" ? "/" : "") + parts.joined(separator: "/"))
        }
        return result
    }
}

/// Hexadecimal formatting for file names (`%016x`), without Foundation.
enum Hex {
    static func pad16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// Parses exactly 16 lowercase hexadecimal digits.
    static func parse16(_ text: Substring) -> UInt64? {
        guard text.count == 16, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return UInt64(text, radix: 16)
    }
}
