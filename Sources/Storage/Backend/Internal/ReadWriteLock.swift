#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread reader-writer lock. The backend holds it shared for every read
/// transaction and exclusively to remap (grow) or close the environment:
/// LMDB's `mdb_env_set_mapsize` and `mdb_env_close` unmap the file, so no
/// other thread may be reading through the old mapping.
///
/// Writers are preferred: once a remap waits, new reads wait behind it.
/// With glibc's default (readers preferred) a steady stream of overlapping
/// reads, as a busy member serves, could hold a remap — and with it every
/// write — back indefinitely. Writer preference alone would deadlock a
/// thread that takes the shared lock again while a remap waits, so each
/// thread counts its own shared holds and only the outermost one locks:
/// nested reads stay safe.
///
/// Held only around synchronous closures, so the thread that locks is the
/// thread that unlocks (POSIX requires it).
final class ReadWriteLock: @unchecked Sendable {
    // Stable addresses: pthread objects must not move.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    /// Per thread: how many `withShared` calls of this lock are running.
    private let depthKey: pthread_key_t

    init() {
        lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        precondition(pthread_rwlock_init(lock, &attributes) == 0, "pthread_rwlock_init failed")
        pthread_rwlockattr_destroy(&attributes)
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        depthKey = key
    }

    deinit {
        pthread_key_delete(depthKey)
        pthread_rwlock_destroy(lock)
        lock.deinitialize(count: 1)
        lock.deallocate()
    }

    /// Whether the calling thread is inside `withShared` of this lock.
    var isSharedByCurrentThread: Bool { depth > 0 }

    func withShared<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        let outer = depth
        if outer == 0 { pthread_rwlock_rdlock(lock) }
        depth = outer + 1
        defer {
            depth = outer
            if outer == 0 { pthread_rwlock_unlock(lock) }
        }
        return try body()
    }

    /// The caller must not hold the lock shared (it would wait for itself);
    /// the backend checks `isSharedByCurrentThread` first.
    func withExclusive<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    private var depth: Int {
        get { Int(bitPattern: pthread_getspecific(depthKey)) }
        set { pthread_setspecific(depthKey, UnsafeRawPointer(bitPattern: newValue)) }
    }
}
