/// A small, fast, deterministic pseudo-random generator (Steele, Lea & Flood's SplitMix64).
///
/// Raft's only randomness is the election timeout; drawing it from an injected seed keeps the
/// state machine reproducible, which the simulator relies on to replay a failing seed.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0), free of modulo bias.
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        // Rejection sampling; each draw is rejected with probability < 1/2, so 64 tries all
        // failing is practically impossible, but the loop stays bounded regardless.
        let limit = UInt64.max - UInt64.max % bound
        var value = next()
        for _ in 0..<64 where value >= limit { value = next() }
        return value % bound
    }

    /// True with probability `numerator / denominator`.
    public mutating func chance(_ numerator: UInt64, in denominator: UInt64) -> Bool {
        next(below: denominator) < numerator
    }
}
