/// One version of a key as clients see it (etcd's `mvccpb.KeyValue`).
///
/// `createRevision` is the revision of the put that began the key's current
/// generation, `modRevision` that of its latest change, and `version` counts
/// changes within the generation (1 after creation, reset by deletion).
public struct KeyValue: Sendable, Hashable {
    public var key: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    public var value: [UInt8]
    public var lease: Int64

    public init(
        key: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64,
        value: [UInt8], lease: Int64 = 0
    ) {
        self.key = key
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.value = value
        self.lease = lease
    }
}

/// A change to one key at one revision: what the watch hub delivers.
public struct Event: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case put, delete }
    public var kind: Kind
    /// For a put, the new version; for a delete, the key with `modRevision`
    /// set to the deleting revision and everything else zero (as etcd).
    public var kv: KeyValue
    /// The version before this change, when one existed.
    public var prevKv: KeyValue?

    public init(kind: Kind, kv: KeyValue, prevKv: KeyValue? = nil) {
        self.kind = kind
        self.kv = kv
        self.prevKv = prevKv
    }
}
