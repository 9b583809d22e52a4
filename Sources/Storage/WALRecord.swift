/// One caller record in the write-ahead log: opaque bytes plus a type tag
/// the caller defines (the server uses Raft's codec for entries and hard
/// state). The WAL never interprets the payload.
public struct WALRecord: Sendable, Hashable {
    /// The caller's type tag. Tags above `maxType` are reserved for the
    /// WAL's own records (segment headers, snapshot markers).
    public var type: UInt8
    /// The Raft index this record holds, or 0 for a *state* record (one that
    /// is not part of the log, such as Raft's hard state). The WAL uses it to
    /// name segments, to release segments a snapshot covers, and to skip
    /// records a snapshot covers when reading. For state records the caller
    /// keeps the last one read of each type; the WAL repeats the newest of
    /// each type at the start of every new segment so that releasing old
    /// segments never loses it.
    public var index: UInt64
    public var payload: [UInt8]

    /// The largest tag a caller may use.
    public static let maxType: UInt8 = 0xEF

    public init(type: UInt8, index: UInt64, payload: [UInt8]) {
        self.type = type
        self.index = index
        self.payload = payload
    }
}

/// A snapshot position recorded in the WAL (as etcd's walpb.Snapshot): the
/// caller writes one after saving a snapshot, and opens the log "from" it.
public struct WALSnapshot: Sendable, Hashable {
    public var index: UInt64
    public var term: UInt64

    public init(index: UInt64, term: UInt64) {
        self.index = index
        self.term = term
    }
}

/// Tunables. Defaults match etcd.
public struct WALOptions: Sendable {
    /// Preallocated size of a segment; a segment is closed and a new one
    /// started once a sync finds the active segment at least this full.
    public var segmentSize: Int
    /// The largest payload accepted (etcd caps entries at 10 MB); also the
    /// bound the reader uses to reject absurd lengths.
    public var maxPayloadSize: Int

    public init(segmentSize: Int = 64 * 1024 * 1024, maxPayloadSize: Int = 10 * 1024 * 1024) {
        self.segmentSize = segmentSize
        self.maxPayloadSize = maxPayloadSize
    }
}

/// Where a torn tail was cut off on open.
public struct WALTornTail: Sendable, Hashable {
    /// Segment file name.
    public var file: String
    /// Offset of the first byte discarded (the end of the last valid record).
    public var offset: Int
    /// Why the bytes there were not a valid record. Worth logging.
    public var reason: String
    /// True when intact records of the unsynced epoch followed the damage
    /// (unsynced pages written back out of order) and were discarded too.
    public var discardedLaterRecords: Bool
}

/// What reading a log returns.
public struct WALContents: Sendable, Hashable {
    /// The metadata given to `create` (etcd stores member and cluster IDs).
    public var metadata: [UInt8]
    /// Caller records in log order: every state record (index 0) in the
    /// retained segments (including the copies the WAL repeats at the start
    /// of each segment), and every indexed record whose index is above the
    /// snapshot's. Entries may repeat an index (a new leader overwrote
    /// them); the later one wins, as in Raft.
    public var records: [WALRecord]
    /// Every snapshot marker found, oldest first (for picking a snapshot
    /// file the log agrees with).
    public var snapshots: [WALSnapshot]
    /// Set when the last segment ended in a torn write that was (or, for a
    /// read-only read, would be) cut off.
    public var tornTail: WALTornTail?
    /// The segment files read, oldest first.
    public var segments: [String]
}
