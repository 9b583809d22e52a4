import Foundation
import Raft
import Testing
@testable import EtcdServer

/// Passwords are kept as slow salted hashes: the right password matches,
/// others do not, the same password hashes differently per user, and a
/// record that would make guessing cheap is refused.
@Suite struct PasswordHashTests {
    @Test func matchesOnlyTheRightPassword() throws {
        let hash = try PasswordHash.make(password: "s3cret", salt: Array(repeating: 7, count: 16), rounds: 1000)
        #expect(hash.matches("s3cret"))
        #expect(!hash.matches("s3cret "))
        #expect(!hash.matches(""))
        #expect(!hash.matches("S3cret"))
    }

    @Test func saltsAreRandomSoEqualPasswordsDiffer() throws {
        let a = try PasswordHash.make(password: "same", rounds: 1000)
        let b = try PasswordHash.make(password: "same", rounds: 1000)
        #expect(a.salt.count == PasswordHash.saltByteCount)
        #expect(a.salt != b.salt)
        #expect(a.digest != b.digest)
        #expect(a.matches("same") && b.matches("same"))
    }

    @Test func theDefaultCostIsSlow() throws {
        // Not a benchmark: the default must not drift down to something
        // cheap. Measured here to show what one login costs.
        let clock = ContinuousClock()
        let start = clock.now
        let hash = try PasswordHash.make(password: "pw")
        let took = clock.now - start
        #expect(hash.rounds >= 210_000)
        #expect(hash.digest.count == 32)
        print("PBKDF2-HMAC-SHA256, \(hash.rounds) rounds: \(took)")
    }

    @Test func encodingRoundTripsAndRefusesCheapRecords() throws {
        let hash = try PasswordHash.make(password: "pw", rounds: 1000)
        var w = BinaryWriter()
        hash.encode(to: &w)
        var r = BinaryReader(w.bytes)
        let decoded = try PasswordHash(from: &r)
        #expect(decoded == hash)
        #expect(decoded.matches("pw"))

        var cheap = BinaryWriter()
        PasswordHash(algorithm: .pbkdf2SHA256, rounds: 1, salt: hash.salt, digest: hash.digest).encode(to: &cheap)
        var reader = BinaryReader(cheap.bytes)
        #expect(throws: BinaryDecodingError.self) { try PasswordHash(from: &reader) }
    }

    @Test func theClearPasswordIsNotInTheEncoding() throws {
        let password = "CorrectHorseBatteryStaple"
        var w = BinaryWriter()
        AuthCommand.userAdd(name: "u", password: PasswordHashRecord(hash: try PasswordHash.make(password: password, rounds: 1000)), noPassword: false)
            .encode(to: &w)
        #expect(Data(w.bytes).range(of: Data(password.utf8)) == nil)
    }
}
