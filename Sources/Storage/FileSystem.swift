/// How `FileSystem.open` treats the path.
public enum FileOpenMode: Sendable, Equatable {
    /// Open a file that must already exist, for reading and writing.
    case existing
    /// Open a file that must already exist, for reading only (writes,
    /// syncs and size changes fail).
    case readOnly
    /// Create the file if missing, or empty it if present (O_CREAT|O_TRUNC).
    /// A new name is not durable until the parent directory is synced.
    case truncate
}

/// The file-system boundary of the storage layer. Everything the WAL and
/// snapshot store do to disk goes through here, so tests can swap in
/// `SimulatedFileSystem` and crash the "machine" at any instant.
///
/// Durability contract (the POSIX model the implementations honour):
/// - Data written to a file is durable only after `DurableFile.sync()` on
///   that file returns. Before that, a crash may keep none, some or all of
///   it, in any order at sector granularity, and a partially kept write may
///   be torn (a prefix survives, the rest is old content or garbage).
/// - A directory entry change (create, rename, remove, mkdir) is durable
///   only after `syncDirectory` on the parent directory returns. Before
///   that, a crash may undo it. Syncing a file never makes its name durable.
/// - `rename` is atomic: after a crash the target name refers to either the
///   old file or the new one, never a mix.
/// - A call's effect is visible to later calls at once (read-your-writes);
///   "durable" only ever means "survives power loss".
///
/// Implementations are used by one task at a time; they are not required to
/// be `Sendable`.
public protocol FileSystem: AnyObject {
    /// Opens (or creates, per `mode`) a regular file.
    func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> any DurableFile
    /// Creates the directory and any missing parents (mkdir -p). Succeeds if
    /// it already exists. The new entries need `syncDirectory` on each parent
    /// to be durable.
    func createDirectory(_ path: String) throws(StorageError)
    /// Makes every entry change in the directory durable (fsync on the
    /// directory's descriptor).
    func syncDirectory(_ path: String) throws(StorageError)
    /// Atomically replaces `to` with `from`. Both must be in the same
    /// directory; durable after `syncDirectory` of that directory.
    func rename(_ from: String, to: String) throws(StorageError)
    /// Unlinks a file. Durable after `syncDirectory` of its directory.
    func remove(_ path: String) throws(StorageError)
    /// Names (not paths) of the entries in a directory, sorted.
    func listDirectory(_ path: String) throws(StorageError) -> [String]
    /// Whether anything exists at the path.
    func exists(_ path: String) -> Bool
}

/// An open regular file. Offsets are byte offsets from the start of the file.
/// The handle is owned by one task; call `close()` when done (dropping the
/// last reference also closes it).
public protocol DurableFile: AnyObject {
    /// The path the file was opened with (used in error messages).
    var path: String { get }
    /// The current size in bytes (including unsynced writes).
    func size() throws(StorageError) -> Int
    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8]
    /// Writes all of `bytes` at `offset`, extending the file if needed. Not
    /// durable until `sync()`.
    func write(_ bytes: [UInt8], at offset: Int) throws(StorageError)
    /// Makes all earlier writes, truncations and preallocations of this file
    /// durable (fdatasync: data plus the size, not timestamps).
    func sync() throws(StorageError)
    /// Sets the size; bytes past it are discarded, new bytes read as zero.
    /// Not durable until `sync()`.
    func truncate(to size: Int) throws(StorageError)
    /// Reserves space so the file is at least `size` bytes long, the new
    /// bytes reading as zero (posix_fallocate). Not durable until `sync()`.
    func preallocate(size: Int) throws(StorageError)
    /// Releases the descriptor. Does not sync.
    func close()
}

extension DurableFile {
    /// Reads the whole file.
    public func readAll() throws(StorageError) -> [UInt8] {
        try read(at: 0, count: try size())
    }
}
