#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex of the error-checking kind, held for the whole of one
/// write transaction so that writers run one at a time in this process.
/// LMDB serializes writers too, but with `MDB_NOTLS` its documentation asks
/// the application to do so, and the backend needs the guarantee itself:
/// the map may only be grown while no write transaction is open.
///
/// Error-checking, so that a thread locking it twice (a write started
/// inside a write) gets `EDEADLK` instead of hanging forever.
///
/// (The standard library's `Synchronization.Mutex` only offers a scoped
/// `withLock` whose result must be `sending`, and cannot report re-entry.)
final class PThreadMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ERRORCHECK))
        precondition(pthread_mutex_init(mutex, &attributes) == 0, "pthread_mutex_init failed")
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Locks, or returns false when this thread already holds the mutex.
    func lock() -> Bool {
        pthread_mutex_lock(mutex) == 0
    }

    func unlock() {
        pthread_mutex_unlock(mutex)
    }
}
