#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real file system, through POSIX calls. Stateless, so `Sendable`;
/// each `POSIXFile` it returns owns one descriptor and is not.
public final class POSIXFileSystem: FileSystem, Sendable {
    public init() {}

    public func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> any DurableFile {
        var flags = O_CLOEXEC
        switch mode {
        case .existing: flags |= O_RDWR
        case .readOnly: flags |= O_RDONLY
        case .truncate: flags |= O_RDWR | O_CREAT | O_TRUNC
        }
        let fd = retryingEINTR { Glibc_open(path, flags, 0o644) }
        guard fd >= 0 else { throw POSIXFileSystem.failure("open", path) }
        return POSIXFile(path: path, descriptor: fd)
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        let parts = Path.components(path)
        var current = path.hasPrefix("/") ? "" : "."
        for part in parts {
            current += "/" + part
            if mkdir(current, 0o755) != 0 {
                let code = errno
                guard code == EEXIST else { throw .io(operation: "mkdir", path: current, errno: code) }
                guard isDirectory(current) else {
                    throw .invalidPath(path: current, reason: "exists and is not a directory")
                }
            }
        }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        let fd = retryingEINTR { Glibc_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }
        guard fd >= 0 else { throw POSIXFileSystem.failure("open directory", path) }
        defer { _ = Glibc_close(fd) }
        // Directories need fsync, not fdatasync: the entries are the "data".
        guard retryingEINTR({ fsync(fd) }) == 0 else { throw POSIXFileSystem.failure("fsync directory", path) }
    }

    public func rename(_ from: String, to: String) throws(StorageError) {
        guard Glibc_rename(from, to) == 0 else { throw POSIXFileSystem.failure("rename to \(to)", from) }
    }

    public func remove(_ path: String) throws(StorageError) {
        guard unlink(path) == 0 else { throw POSIXFileSystem.failure("unlink", path) }
    }

    public func listDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let dir = opendir(path) else { throw POSIXFileSystem.failure("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        // Bounded by the directory's size: readdir returns nil at the end.
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    private func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func failure(_ operation: String, _ path: String) -> StorageError {
        .io(operation: operation, path: path, errno: errno)
    }
}

/// One open descriptor. Owned by one task; not `Sendable`.
public final class POSIXFile: DurableFile {
    public let path: String
    private var descriptor: Int32

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close() }

    public func size() throws(StorageError) -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw POSIXFileSystem.failure("fstat", path) }
        return Int(info.st_size)
    }

    public func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        guard count > 0 else { return [] }
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        // Each pass reads at least one byte or stops, so at most `count` passes.
        while done < count {
            let n = result.withUnsafeMutableBytes { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                return pread(descriptor, base + done, count - done, off_t(offset + done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXFileSystem.failure("pread", path)
            }
            if n == 0 { break }
            done += n
        }
        result.removeLast(count - done)
        return result
    }

    public func write(_ bytes: [UInt8], at offset: Int) throws(StorageError) {
        var done = 0
        // Each pass writes at least one byte or throws, so at most `count` passes.
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                return pwrite(descriptor, base + done, bytes.count - done, off_t(offset + done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXFileSystem.failure("pwrite", path)
            }
            if n == 0 { throw .io(operation: "pwrite (no progress)", path: path, errno: EIO) }
            done += n
        }
    }

    public func sync() throws(StorageError) {
        #if os(Linux)
        let result = retryingEINTR { fdatasync(descriptor) }
        #else
        // macOS: plain fsync does not flush the drive cache.
        let result = retryingEINTR { fcntl(descriptor, F_FULLFSYNC) }
        #endif
        guard result == 0 else { throw POSIXFileSystem.failure("fsync", path) }
    }

    public func truncate(to size: Int) throws(StorageError) {
        guard retryingEINTR({ ftruncate(descriptor, off_t(size)) }) == 0 else {
            throw POSIXFileSystem.failure("ftruncate", path)
        }
    }

    public func preallocate(size: Int) throws(StorageError) {
        #if os(Linux)
        let current = try self.size()
        guard size > current else { return }
        // posix_fallocate returns the error number rather than setting errno.
        let code = posix_fallocate(descriptor, off_t(current), off_t(size - current))
        if code == 0 { return }
        if code != EOPNOTSUPP && code != EINVAL && code != EINTR {
            throw .io(operation: "posix_fallocate", path: path, errno: code)
        }
        #endif
        // Fallback (and macOS): extend with a hole, which still reads as zeros.
        if try self.size() < size { try truncate(to: size) }
    }

    public func close() {
        if descriptor >= 0 {
            _ = Glibc_close(descriptor)
            descriptor = -1
        }
    }
}

/// Retries a call interrupted by a signal; bounded because EINTR needs a
/// signal per retry and we give up after a generous number of them.
private func retryingEINTR(_ call: () -> Int32) -> Int32 {
    var result: Int32 = -1
    for _ in 0..<1000 {
        result = call()
        if result != -1 || errno != EINTR { return result }
    }
    return result
}

// Module-qualified aliases: inside types that declare `open`, `close` and
// `rename` methods, the bare names would resolve to the methods.
private func Glibc_open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    #if canImport(Glibc)
    return Glibc.open(path, flags, mode)
    #else
    return Darwin.open(path, flags, mode)
    #endif
}
private func Glibc_close(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}
private func Glibc_rename(_ from: String, _ to: String) -> Int32 {
    #if canImport(Glibc)
    return Glibc.rename(from, to)
    #else
    return Darwin.rename(from, to)
    #endif
}
