import Raft

/// Who proposed a command, carried with it through the log so that every
/// member checks permissions at apply time against the same auth state
/// (etcd's `RequestHeader.username` and `auth_revision`). Checking when
/// applying, not when proposing, closes the window in which a permission
/// revoked in between would still let a write through.
public struct AuthHeader: Sendable, Hashable {
    public var username: String
    /// The auth store revision the proposer saw; a command checked against
    /// a newer store is refused with `authOldRevision`, and the client
    /// retries with fresh credentials.
    public var revision: UInt64

    public init(username: String, revision: UInt64) {
        self.username = username
        self.revision = revision
    }

    func encode(to w: inout BinaryWriter) {
        w.writeString(username)
        w.write(revision)
    }

    init(from r: inout BinaryReader) throws(BinaryDecodingError) {
        username = try r.readString()
        revision = try r.readUInt64()
    }
}
