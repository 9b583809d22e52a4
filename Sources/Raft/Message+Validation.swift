extension Message {
    /// Terms and indices at or above this are rejected as corrupt. No real log gets near it,
    /// and the margin keeps all index arithmetic (`index + count`, `index + 1`) overflow-free.
    static let sanityLimit: UInt64 = 1 << 62

    /// Whether the message is internally consistent enough to process safely. A peer that
    /// sends garbage must not be able to crash this node.
    var isWellFormed: Bool {
        let limit = Self.sanityLimit
        guard term < limit, logTerm < limit, index < limit, commit < limit, rejectHint < limit else { return false }
        switch type {
        case .prop, .readIndex, .transferLeader:
            break  // Forwarded local requests carry no term.
        default:
            // Term 0 marks local messages; a peer's message always carries its term.
            guard term > 0 else { return false }
        }
        if let snapshot {
            guard snapshot.metadata.index < limit, snapshot.metadata.term < limit else { return false }
        }
        var previousTerm = logTerm
        for (offset, entry) in entries.enumerated() {
            guard entry.term < limit, entry.index < limit else { return false }
            if type == .app {
                // Appended entries continue the log right after (index, logTerm), with terms
                // that never decrease and never exceed the leader's.
                guard entry.index == index + 1 + UInt64(offset), entry.term >= previousTerm, entry.term <= term
                else { return false }
                previousTerm = entry.term
            }
        }
        return true
    }
}
