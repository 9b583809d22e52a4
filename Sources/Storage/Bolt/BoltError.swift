/// What can go wrong reading or writing a bbolt file (an etcd snapshot or
/// backend). A damaged or foreign file is always reported, never trusted:
/// every page number, count, offset and length is checked before it is
/// used, so a bad file cannot crash the reader.
public enum BoltError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Neither meta page carries bbolt's magic number: not a bbolt file.
    case notABoltFile(path: String)
    /// A meta page has the magic number but another format version.
    case versionMismatch(path: String, version: UInt32)
    /// Both meta pages are damaged (bbolt's `ErrChecksum` for the newer).
    case checksumMismatch(path: String)
    /// The file is shorter than its meta page says.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// A page or element is inconsistent (bad page number, type, bounds,
    /// key order, a page referenced twice).
    case corrupt(path: String, page: UInt64, reason: String)
    /// Something in the file this reader does not handle (nested buckets).
    case unsupported(path: String, reason: String)
    /// The bucket is not in the file.
    case bucketNotFound(path: String, name: String)
    /// The caller broke the writer's rules (keys out of order, a key too
    /// long, a bucket written twice, a call after `finish`).
    case invalidInput(reason: String)
    /// A file operation failed.
    case io(StorageError)

    public var description: String {
        switch self {
        case let .notABoltFile(path):
            return "\(path): not a bbolt database (invalid database)"
        case let .versionMismatch(path, version):
            return "\(path): bbolt format version \(version) is not supported (version mismatch)"
        case let .checksumMismatch(path):
            return "\(path): both meta pages fail their checksum (checksum error); the file is damaged"
        case let .truncated(path, expected, actual):
            return "\(path): the file is truncated: its meta page needs \(expected) bytes, there are \(actual)"
        case let .corrupt(path, page, reason):
            return "\(path): damaged bbolt file at page \(page): \(reason)"
        case let .unsupported(path, reason):
            return "\(path): \(reason)"
        case let .bucketNotFound(path, name):
            return "\(path): no bucket \"\(name)\""
        case let .invalidInput(reason):
            return "bbolt writer: \(reason)"
        case let .io(error):
            return error.description
        }
    }
}
