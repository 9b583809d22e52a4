import Dispatch
import Raft

/// Runs a `Ready`'s disk work (snapshot file, WAL append, fsync) on its own
/// thread, so that the server's actor keeps ticking, answering reads and
/// sending a leader's heartbeats while the disk is busy (a slow disk must
/// not make the leader miss heartbeats: etcd issue 13794).
///
/// One write is in flight at a time (the server awaits each before taking
/// the next `Ready`), which is what `RaftPersistence` requires; proposals
/// that arrive meanwhile share the next write's fsync.
final class DiskWriter: @unchecked Sendable {
    private let persistence: any RaftPersistence
    private let queue = DispatchQueue(label: "swift-etcd.disk")
    /// In-memory members have nothing to wait for: write inline.
    private let inline: Bool

    init(persistence: any RaftPersistence) {
        self.persistence = persistence
        inline = persistence is InMemoryPersistence
    }

    /// Runs other long disk work (writing a leader's backend image) on the
    /// disk thread, so the actor keeps serving meanwhile.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        if inline { return try work() }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Makes `ready`'s snapshot (when `saveSnapshot`), entries and hard state
    /// durable, as `ready.mustSync` asks.
    func persist(_ ready: Ready, saveSnapshot: Bool) async throws {
        let persistence = persistence
        let work: @Sendable () throws -> Void = {
            if saveSnapshot, let snapshot = ready.snapshot { try persistence.saveSnapshot(snapshot) }
            try persistence.save(hardState: ready.hardState, entries: ready.entries, sync: ready.mustSync)
        }
        // Nothing to write (messages or read states only): no hand-off.
        let empty = ready.entries.isEmpty && ready.hardState == nil && !(saveSnapshot && ready.snapshot != nil)
        if inline || empty { return try work() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async {
                do {
                    try work()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
