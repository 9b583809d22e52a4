/// A password hash as text in a snapshot's `authpb.User.password`, where
/// etcd keeps a bcrypt hash (`$2a$10$…`). A bcrypt hash (a user restored
/// from etcd) is written back as it came, so etcd checks it again after a
/// round trip; our PBKDF2 hashes take the modular-crypt-style form
/// `$pbkdf2-sha256$<rounds>$<salt hex>$<digest hex>`. A snapshot restored
/// into swift-etcd keeps both; etcd cannot check the PBKDF2 form (bcrypt
/// refuses it), so after restoring one of our snapshots into etcd those
/// users need `etcdctl user passwd` (Docs/storage.md).
extension PasswordHash {
    static let textPrefix = "$pbkdf2-sha256$"

    var text: [UInt8] {
        if algorithm == .bcrypt { return digest }
        return Array((Self.textPrefix + "\(rounds)$" + Self.hex(salt) + "$" + Self.hex(digest)).utf8)
    }

    /// Parses `text`; nil for anything else (garbage, an unknown scheme) or
    /// parameters `init(from:)` would refuse.
    init?(text: [UInt8]) {
        if let cost = BCrypt.cost(of: text) {
            self.init(algorithm: .bcrypt, rounds: cost, salt: [], digest: text)
            return
        }
        let string = String(decoding: text, as: UTF8.self)
        guard string.hasPrefix(Self.textPrefix) else { return nil }
        let parts = string.dropFirst(Self.textPrefix.count).split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, let rounds = Int(parts[0]), rounds >= Self.minimumRounds,
            rounds <= Self.maximumRounds, let salt = Self.unhex(parts[1]), let digest = Self.unhex(parts[2]),
            !digest.isEmpty
        else { return nil }
        self.init(algorithm: .pbkdf2SHA256, rounds: rounds, salt: salt, digest: digest)
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    private static func unhex(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
