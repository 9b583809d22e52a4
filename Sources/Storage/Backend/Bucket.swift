/// The name of a bucket: one ordered map of byte keys to byte values inside
/// the backend (an LMDB named database; a bbolt bucket in etcd). etcd's are
/// `key`, `meta`, `lease`, `members`, `auth`, …; the caller names its own
/// when it opens the backend, so this module stays ignorant of MVCC.
///
/// A bucket is identified by name alone, not by a handle tied to one open
/// backend: a name from elsewhere can at worst be unknown (an error), never
/// silently address another backend's bucket.
public struct Bucket: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let name: String

    public init(_ name: String) { self.name = name }
    public init(stringLiteral name: String) { self.name = name }

    public var description: String { name }
}
