import Crypto
import Raft
import _CryptoExtras

/// A password as the auth store keeps it: never the clear text, only a
/// deliberately slow, salted hash. etcd uses bcrypt (cost 10); we use
/// PBKDF2-HMAC-SHA256 from swift-crypto with a random 16-byte salt per
/// user, so equal passwords hash differently and a stolen data directory
/// costs an attacker the same work per guess as the server spends per login.
///
/// The parameters travel with the hash, so the cost can be raised later
/// without invalidating stored users. Users restored from an etcd snapshot
/// keep etcd's bcrypt hash (`.bcrypt`: `rounds` is the cost, `digest` the
/// whole hash text, no separate salt), checked by `BCrypt`.
struct PasswordHash: Sendable, Hashable {
    enum Algorithm: UInt8, Sendable {
        case pbkdf2SHA256 = 1
        case bcrypt = 2
    }

    var algorithm: Algorithm
    var rounds: Int
    var salt: [UInt8]
    var digest: [UInt8]

    static let saltByteCount = 16
    static let digestByteCount = 32
    /// OWASP's floor for PBKDF2-HMAC-SHA256 (and swift-crypto's checked
    /// minimum); about as slow as etcd's bcrypt cost 10 on the same core.
    static let defaultRounds = 210_000
    /// Fewer rounds than this are refused when decoding: a tampered record
    /// must not make passwords cheap to guess.
    static let minimumRounds = 1_000
    /// More than this is refused too, so a damaged record cannot make a
    /// login spin for hours.
    static let maximumRounds = 100_000_000

    /// Hashes `password` with a fresh random salt. Slow by design: callers
    /// run it off the server's actor.
    static func make(password: String, rounds: Int = defaultRounds) throws -> PasswordHash {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<saltByteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return try make(password: password, salt: salt, rounds: rounds)
    }

    static func make(password: String, salt: [UInt8], rounds: Int) throws -> PasswordHash {
        let digest = try derive(password: password, salt: salt, rounds: rounds)
        return PasswordHash(algorithm: .pbkdf2SHA256, rounds: rounds, salt: salt, digest: digest)
    }

    /// Whether `password` is the one hashed, comparing in constant time.
    func matches(_ password: String) -> Bool {
        if algorithm == .bcrypt { return BCrypt.matches(password, hash: digest) }
        guard let candidate = try? Self.derive(password: password, salt: salt, rounds: rounds),
            candidate.count == digest.count
        else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(candidate, digest) { difference |= a ^ b }
        return difference == 0
    }

    private static func derive(password: String, salt: [UInt8], rounds: Int) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: digestByteCount,
            unsafeUncheckedRounds: rounds)
        return key.withUnsafeBytes { Array($0) }
    }
}

extension PasswordHash {
    func encode(to w: inout BinaryWriter) {
        w.write(algorithm.rawValue)
        w.write(UInt64(rounds))
        w.write(salt)
        w.write(digest)
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        guard let algorithm = Algorithm(rawValue: try r.readUInt8()) else {
            throw .invalidValue("password hash algorithm")
        }
        let rounds = try r.readUInt64()
        let allowed =
            algorithm == .bcrypt
            ? UInt64(BCrypt.costs.lowerBound)...UInt64(BCrypt.costs.upperBound)
            : UInt64(Self.minimumRounds)...UInt64(Self.maximumRounds)
        guard allowed.contains(rounds) else { throw .invalidValue("password hash rounds \(rounds)") }
        self.algorithm = algorithm
        self.rounds = Int(rounds)
        self.salt = try r.readBytes()
        self.digest = try r.readBytes()
        if algorithm == .bcrypt && BCrypt.cost(of: digest) != Int(rounds) {
            throw .invalidValue("bcrypt hash")
        }
    }
}
