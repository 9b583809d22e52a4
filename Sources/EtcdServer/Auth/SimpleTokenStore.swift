/// etcd's simple tokens (`--auth-token simple`): opaque strings
/// `<16 random letters>.<log index>` mapped to a user name in memory.
///
/// A token is made when its `authenticate` entry is applied, so every
/// member that applied the entry knows it (as in etcd 3.4, where each member
/// assigns it while applying); none is ever written to disk, so a restarted
/// member has forgotten them all and clients authenticate again. A token
/// expires after `ttl` without use (etcd's `--auth-token-ttl`, 300 s); each
/// use renews it. Changing a user's password, deleting the user or
/// disabling auth drops its tokens.
///
/// Time comes in as an argument, so the store reads no clock itself.
struct SimpleTokenStore: Sendable {
    struct Entry: Sendable {
        var username: String
        var expiry: ContinuousClock.Instant
    }

    static let prefixLength = 16
    static let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    /// How often expired tokens are swept out (etcd's 1 s resolution).
    static let sweepInterval: Duration = .seconds(1)

    let ttl: Duration
    private var tokens: [String: Entry] = [:]
    private var lastSweep: ContinuousClock.Instant?

    init(ttl: Duration) {
        self.ttl = ttl
    }

    var count: Int { tokens.count }

    /// A fresh random token prefix (etcd's `genTokenPrefix`).
    static func makePrefix<G: RandomNumberGenerator>(using generator: inout G) -> String {
        String((0..<prefixLength).map { _ in letters[Int.random(in: 0..<letters.count, using: &generator)] })
    }

    static func makePrefix() -> String {
        var generator = SystemRandomNumberGenerator()
        return makePrefix(using: &generator)
    }

    /// The log index a token was issued at, or nil if it is not shaped like
    /// a simple token (etcd's `isValidSimpleToken` format check).
    static func index(of token: String) -> UInt64? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return UInt64(parts[1])
    }

    /// Records `token` for `username`, valid for `ttl` from `now`.
    mutating func assign(_ token: String, to username: String, now: ContinuousClock.Instant) {
        sweepIfDue(now: now)
        tokens[token] = Entry(username: username, expiry: now + ttl)
    }

    /// The user `token` was issued to, renewing it; nil if unknown or
    /// expired.
    mutating func username(for token: String, now: ContinuousClock.Instant) -> String? {
        sweepIfDue(now: now)
        guard var entry = tokens[token] else { return nil }
        guard entry.expiry > now else {
            tokens.removeValue(forKey: token)
            return nil
        }
        entry.expiry = now + ttl
        tokens[token] = entry
        return entry.username
    }

    /// Drops every token of `username` (etcd's `invalidateUser`).
    mutating func invalidate(username: String) {
        tokens = tokens.filter { $0.value.username != username }
    }

    /// Drops every token (auth was disabled).
    mutating func removeAll() {
        tokens.removeAll()
    }

    private mutating func sweepIfDue(now: ContinuousClock.Instant) {
        if let lastSweep, now - lastSweep < Self.sweepInterval { return }
        lastSweep = now
        tokens = tokens.filter { $0.value.expiry > now }
    }
}
