internal import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on the database file, taken before LMDB opens it and
/// held until the backend closes: the "one owner" rule for a member's data,
/// as bbolt's file lock is for etcd.
///
/// LMDB alone would let a second process open the same file and write (it
/// serializes writers across processes), and opening it twice in one
/// process corrupts its lock state. A `flock` conflicts between any two
/// open file descriptions, in one process or two, so both cases become
/// `BackendError.inUse`. It cannot disturb LMDB: LMDB locks only its
/// `-lock` file, with fcntl, and this descriptor is on the data file.
final class FileOwnership {
    private var descriptor: Int32
    /// The file was empty when locked: new, so its name is not durable yet.
    let created: Bool

    /// Creates the file if missing (empty: LMDB initializes an empty file),
    /// checks it is a regular file, and locks it.
    init(path: String, mode: UInt32) throws(BackendError) {
        // O_NONBLOCK: opening a FIFO someone left at the path must not hang.
        let fd = FileOwnership.openFile(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK, mode_t(mode))
        guard fd >= 0 else { throw FileOwnership.inaccessible(path, errno) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            _ = FileOwnership.closeFile(fd)
            throw .inaccessible(path: path, code: EINVAL, message: "not a regular file")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            _ = FileOwnership.closeFile(fd)
            if code == EWOULDBLOCK { throw .inUse(path: path) }
            throw FileOwnership.inaccessible(path, code)
        }
        descriptor = fd
        created = info.st_size == 0
    }

    deinit { release() }

    /// Unlocks and closes; idempotent.
    func release() {
        guard descriptor >= 0 else { return }
        _ = FileOwnership.closeFile(descriptor)  // closing drops the flock
        descriptor = -1
    }

    private static func inaccessible(_ path: String, _ code: Int32) -> BackendError {
        .inaccessible(path: path, code: code, message: String(cString: mdb_strerror(code)))
    }

    private static func openFile(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
        #if canImport(Glibc)
        return Glibc.open(path, flags, mode)
        #else
        return Darwin.open(path, flags, mode)
        #endif
    }

    private static func closeFile(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        return Glibc.close(fd)
        #else
        return Darwin.close(fd)
        #endif
    }
}
