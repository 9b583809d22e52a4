/// A batch of work produced by `RaftNode.ready()` for the caller to carry out.
///
/// The contract, as in etcd-io/raft, in this order:
/// 1. Persist `hardState` (if set), `entries` and `snapshot` (if set) to stable storage — with
///    fsync if `mustSync` — *before* sending any message that depends on them. Votes and
///    append acknowledgements promise that the sender remembers them across a crash.
///    Exception (Raft thesis §10.2.1): a leader may send its `app` messages before or while
///    its own write completes. This is safe because the leader only counts its own log
///    towards commit after `advance` reports it persisted.
/// 2. Send `messages`. A `snap` message carries a snapshot; report its outcome with
///    `reportSnapshot(to:failed:)`.
/// 3. If `snapshot` is set, load it into the state machine. Then apply `committedEntries` in
///    order; for each `.confChange` entry call `applyConfChange`.
/// 4. Serve each of `readStates` once the applied index reaches its index.
/// 5. Call `advance(_:)` with this `Ready` before calling `ready()` again.
public struct Ready: Sendable {
    /// Set when the leader or role changed.
    public var softState: SoftState?
    /// Set when term, vote or commit changed.
    public var hardState: HardState?
    public var readStates: [ReadState] = []
    /// Entries to append to stable storage (they may overwrite a stored suffix).
    public var entries: [Entry] = []
    /// A snapshot received from the leader, to persist and install.
    public var snapshot: Snapshot?
    /// Entries known committed, to apply to the state machine.
    public var committedEntries: [Entry] = []
    public var messages: [Message] = []
    /// Whether the write in step 1 must be synced: true when entries, term or vote changed.
    /// A commit-only change may be written lazily, since commit can always be re-learned.
    public var mustSync: Bool = false

    public init() {}

    /// True if nothing needs doing.
    public var isEmpty: Bool {
        softState == nil && hardState == nil && readStates.isEmpty && entries.isEmpty
            && snapshot == nil && committedEntries.isEmpty && messages.isEmpty
    }
}
