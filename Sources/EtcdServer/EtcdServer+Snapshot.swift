import Dispatch
import Storage

/// etcd's `Maintenance.Snapshot`: the member's state as etcd 3.4's bbolt
/// backend file, which `etcdctl snapshot save` stores and `etcdctl
/// snapshot restore` (or `swift-etcd snapshot restore`) turns back into a
/// data directory.
extension EtcdServer {
    /// Builds the snapshot and returns it ready to stream. Needs root when
    /// auth is on (etcd's rule for maintenance). Applied writes are
    /// committed to the backend first, so the snapshot holds everything
    /// applied when the request arrived (etcd commits its batch too); the
    /// file is then built from one LMDB read transaction on a thread of
    /// its own, so the actor goes on serving meanwhile.
    public func snapshot() async throws(EtcdError) -> SnapshotStream {
        try await authorizeMaintenance()
        guard let backend else { throw .unimplemented("snapshot needs the on-disk backend") }
        commitBackend()
        let storage = backend.storage
        let directory = DiskPersistence.snapDirectory(dataDir: config.dataDir)
        let start = ContinuousClock.now
        do {
            let stream = try await Self.snapshotBuilder.run {
                try Self.buildSnapshot(from: storage, in: directory)
            }
            logger.info(
                "sending database snapshot to client",
                metadata: ["total-bytes": "\(stream.size)", "took": "\(ContinuousClock.now - start)"])
            return stream
        } catch {
            logger.warning("failed to build a database snapshot", metadata: ["error": "\(error)"])
            throw .untranslated("\(error)")
        }
    }

    /// One snapshot is built at a time, on its own thread (never the disk
    /// thread, whose WAL fsyncs must not wait behind it).
    private static let snapshotBuilder = BlockingRunner(label: "swift-etcd.snapshot")

    /// Writes the database into a temporary file in `directory` whose name
    /// is removed at once: the open descriptor keeps it until the stream
    /// is released, and a crash leaves no file to clean up.
    private static func buildSnapshot(from storage: Backend, in directory: String) throws -> SnapshotStream {
        let fileSystem = POSIXFileSystem()
        try fileSystem.createDirectory(directory)
        var random = SystemRandomNumberGenerator()
        let path = directory + "/snapshot-\(String(random.next(), radix: 16)).tmp"
        let file = try fileSystem.open(path, mode: .truncate)
        do {
            try fileSystem.remove(path)
            let size = try SnapshotExport.write(storage, to: file)
            return SnapshotStream(file: file, size: size)
        } catch {
            file.close()
            throw error
        }
    }
}

/// Runs blocking work on a serial queue of its own and awaits it.
final class BlockingRunner: Sendable {
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
