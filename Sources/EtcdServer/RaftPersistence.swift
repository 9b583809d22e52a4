import Raft

/// Where a member makes its Raft state durable. The server calls `save`
/// with each Ready's hard state and entries before it acts on them (sends
/// votes, acknowledges appends, applies), so a crash never forgets a vote or
/// an entry this member acknowledged.
protocol RaftPersistence: AnyObject, Sendable {
    /// Appends `entries` (replacing any suffix they conflict with) and
    /// records `hardState`; durable on return when `sync` is true.
    func save(hardState: HardState?, entries: [Entry], sync: Bool) throws
    /// Makes an installed or taken snapshot durable, then drops log entries
    /// it covers.
    func saveSnapshot(_ snapshot: Snapshot) throws
}

/// No durability: state lives only as long as the process.
final class InMemoryPersistence: RaftPersistence {
    func save(hardState: HardState?, entries: [Entry], sync: Bool) {}
    func saveSnapshot(_ snapshot: Snapshot) {}
}
