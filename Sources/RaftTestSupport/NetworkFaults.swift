import Raft

/// Random faults the network injects into every message it carries.
public struct NetworkFaults: Sendable, Hashable {
    /// Probability (per mille) that a message is lost.
    public var dropPerMille: UInt64 = 0
    /// Probability (per mille) that a message is delivered twice.
    public var duplicatePerMille: UInt64 = 0
    /// Each message is held back a random number of rounds in `0...maxDelay`.
    public var maxDelay: UInt64 = 0
    /// Deliver the messages that are due in a random order rather than the order sent.
    public var reorder: Bool = false

    public init(dropPerMille: UInt64 = 0, duplicatePerMille: UInt64 = 0, maxDelay: UInt64 = 0, reorder: Bool = false) {
        self.dropPerMille = dropPerMille
        self.duplicatePerMille = duplicatePerMille
        self.maxDelay = maxDelay
        self.reorder = reorder
    }

    public static let none = NetworkFaults()
}
