#if canImport(CCrypt)
import CCrypt
#endif

/// etcd's password hashes: Go's bcrypt (`$2a$<cost>$<22 salt + 31 hash
/// characters>`, 60 bytes), which users restored from an etcd snapshot
/// keep, so they log in to swift-etcd with the passwords they had. Checked
/// with the system's libcrypt (libxcrypt implements `$2a$`, `$2b$` and
/// `$2y$`); new passwords are still hashed with PBKDF2 (`PasswordHash`).
/// Where libcrypt is not available (macOS) such users cannot log in until
/// their password is set again.
enum BCrypt {
    static let hashLength = 60
    static let costs = 4...31

    /// The cost of a well-formed bcrypt hash, nil for anything else.
    static func cost(of hash: [UInt8]) -> Int? {
        guard hash.count == hashLength, hash[0] == UInt8(ascii: "$"), hash[1] == UInt8(ascii: "2"),
            [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(hash[2]),
            hash[3] == UInt8(ascii: "$"), hash[6] == UInt8(ascii: "$"),
            let cost = Int(String(decoding: hash[4..<6], as: UTF8.self)), costs.contains(cost),
            hash[7...].allSatisfy(isBase64)
        else { return nil }
        return cost
    }

    /// Whether `password` hashes to `hash` (compared in constant time).
    /// Slow by design (2^cost rounds): callers run it off the actor.
    static func matches(_ password: String, hash: [UInt8]) -> Bool {
        guard cost(of: hash) != nil else { return false }
        #if canImport(CCrypt)
        let size = MemoryLayout<crypt_data>.size
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        defer { data.deallocate() }
        data.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let setting = String(decoding: hash, as: UTF8.self)
        guard let output = crypt_rn(password, setting, data, Int32(size)) else { return false }
        let computed = Array(String(cString: output).utf8)
        guard computed.count == hash.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(computed, hash) { difference |= a ^ b }
        return difference == 0
        #else
        return false
        #endif
    }

    /// bcrypt's alphabet: `./A-Za-z0-9`.
    private static func isBase64(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: ".") || c == UInt8(ascii: "/")
    }
}
