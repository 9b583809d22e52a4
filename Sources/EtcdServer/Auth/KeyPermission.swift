/// One grant of access to keys, as etcd's `authpb.Permission`: a single key
/// (`rangeEnd` empty), the half-open range `[key, rangeEnd)`, or every key
/// from `key` on (`rangeEnd == [0]`, what `--from-key` and an empty
/// `--prefix` send).
public struct KeyPermission: Sendable, Hashable {
    /// etcd's `Permission.Type`; the raw values are the protobuf numbers.
    public enum Access: Int, Sendable, Hashable {
        case read = 0
        case write = 1
        case readWrite = 2

        /// Whether this grant allows `needed`, which is `.read` or `.write`.
        func allows(_ needed: Access) -> Bool {
            self == .readWrite || self == needed
        }
    }

    public var access: Access
    public var key: [UInt8]
    public var rangeEnd: [UInt8]

    public init(access: Access, key: [UInt8], rangeEnd: [UInt8]) {
        self.access = access
        self.key = key
        self.rangeEnd = rangeEnd
    }

    /// Whether this grant covers exactly the same keys as `[key, rangeEnd)`
    /// (how etcd finds the grant to update or revoke).
    func isSameRange(key: [UInt8], rangeEnd: [UInt8]) -> Bool {
        self.key == key && self.rangeEnd == rangeEnd
    }
}
