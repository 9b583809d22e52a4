/// An in-memory file system for crash testing, modelled on TigerBeetle's
/// simulated storage and FoundationDB's AsyncFileNonDurable: it remembers
/// what has been made durable, and `crash()` throws away everything else.
///
/// What a crash keeps (per `CrashPolicy`):
/// - File contents: the last synced contents, plus (policy `.random`) a
///   random prefix of the unsynced writes, truncations and preallocations,
///   in the order they were issued. The first write not kept whole may be
///   torn: a random prefix of its bytes survives, optionally followed by
///   random garbage up to its length. Policy `.randomSectors` instead keeps
///   any subset of the unsynced 512-byte sectors (out-of-order writeback).
/// - Directory entries: the last synced entries of each directory, plus
///   (policy `.random`) a random prefix of the unsynced creates, renames and
///   removes of that directory. A rename is one atomic step. A directory
///   whose own entry is lost takes its whole subtree with it.
///
/// The simulation does not return I/O errors or lose synced data on its
/// own; `flipBit` models media corruption of already-durable data.
///
/// Crash points: `armCrash(afterOperations:)` lets that many more mutating
/// calls (write, sync, truncate, preallocate, open-with-create, rename,
/// remove, mkdir, directory sync) complete; the next one throws
/// `StorageError.simulatedCrash` and the machine stays down (every call
/// throws) until `crash()` applies the power loss and brings it back.
///
/// Deterministic for a given seed and call sequence. Single-task use only:
/// not `Sendable`.
public final class SimulatedFileSystem: FileSystem {
    /// What `crash()` does with state that was never made durable.
    public enum CrashPolicy: Sendable {
        /// Lose every unsynced write and directory change (the worst case
        /// for lost data, the best case for consistency).
        case loseUnsynced
        /// Keep everything, as when only the process dies and the kernel's
        /// page cache survives.
        case keepUnsynced
        /// Keep a seeded random prefix of the unsynced work, possibly torn.
        case random
        /// Keep each 512-byte sector dirtied since the last sync with its
        /// latest contents, or lose it (it keeps its synced contents), by a
        /// seeded coin per sector: the page cache writing back dirty pages
        /// in any order. Sectors are atomic: no garbage. Size changes are
        /// kept, in order.
        case randomSectors
    }

    enum Entry: Equatable {
        case file(Int)
        case directory
    }

    enum DirectoryChange {
        case set(String, Entry)
        case remove(String)
        case rename(from: String, to: String, Entry)

        func apply(to entries: inout [String: Entry]) {
            switch self {
            case let .set(name, entry): entries[name] = entry
            case let .remove(name): entries[name] = nil
            case let .rename(from, to, entry):
                entries[from] = nil
                entries[to] = entry
            }
        }
    }

    struct Directory {
        var entries: [String: Entry] = [:]
        var durable: [String: Entry] = [:]
        var pending: [DirectoryChange] = []

        mutating func change(_ change: DirectoryChange) {
            change.apply(to: &entries)
            pending.append(change)
        }
    }

    enum FileChange {
        case write(offset: Int, bytes: [UInt8])
        case resize(Int)

        func apply(to data: inout [UInt8]) {
            switch self {
            case let .write(offset, bytes):
                if data.count < offset { data += [UInt8](repeating: 0, count: offset - data.count) }
                let overlap = min(bytes.count, data.count - offset)
                data.replaceSubrange(offset..<(offset + overlap), with: bytes[0..<overlap])
                data.append(contentsOf: bytes[overlap...])
            case let .resize(size):
                if size < data.count {
                    data.removeLast(data.count - size)
                } else {
                    data += [UInt8](repeating: 0, count: size - data.count)
                }
            }
        }
    }

    struct Inode {
        var current: [UInt8] = []
        var durable: [UInt8] = []
        var pending: [FileChange] = []

        mutating func change(_ change: FileChange) {
            change.apply(to: &current)
            pending.append(change)
        }
    }

    private var random: SeededRandom
    private var directories: [String: Directory] = ["/": Directory()]
    private var inodes: [Int: Inode] = [:]
    private var nextInode = 1
    private var crashPoint: Int?

    /// Bumped by every `crash()`; handles opened before it are dead.
    public private(set) var generation = 0
    /// Mutating calls completed so far (the unit of `armCrash`).
    public private(set) var mutatingOperations = 0
    /// True between reaching an armed crash point and `crash()`.
    public private(set) var isDown = false
    /// A trace of mutating calls, for reproducing a failing seed.
    public private(set) var trace: [String] = []

    public init(seed: UInt64) {
        random = SeededRandom(seed: seed)
    }

    // MARK: Test controls

    /// After `count` more mutating calls complete, the next one fails with
    /// `simulatedCrash` and the machine is down until `crash()`.
    public func armCrash(afterOperations count: Int) {
        crashPoint = mutatingOperations + max(0, count)
    }

    /// Power loss: applies `policy` to everything not yet durable, forgets
    /// open handles and brings the machine back up.
    public func crash(_ policy: CrashPolicy = .random) {
        for id in inodes.keys.sorted() {
            guard var inode = inodes[id] else { continue }
            inode.current = survivingContents(of: inode, policy)
            inode.durable = inode.current
            inode.pending = []
            inodes[id] = inode
        }
        var survivors: [String: [String: Entry]] = [:]
        for path in directories.keys.sorted() {
            guard let directory = directories[path] else { continue }
            survivors[path] = survivingEntries(of: directory, policy)
        }
        // Rebuild from the root so lost directories drop their subtrees.
        var rebuilt: [String: Directory] = [:]
        var queue = ["/"]
        var live = Set<Int>()
        var cursor = 0
        while cursor < queue.count {  // each directory is queued at most once
            let path = queue[cursor]
            cursor += 1
            let entries = survivors[path] ?? [:]
            rebuilt[path] = Directory(entries: entries, durable: entries, pending: [])
            for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
                switch entry {
                case .directory: queue.append(Path.join(path, name))
                case let .file(id): live.insert(id)
                }
            }
        }
        directories = rebuilt
        inodes = inodes.filter { live.contains($0.key) }
        isDown = false
        crashPoint = nil
        generation += 1
        trace.append("crash(\(policy))")
    }

    /// Flips one bit of a file's durable and current contents: media
    /// corruption that no sync protects against.
    public func flipBit(in path: String, atByte offset: Int, bit: Int = 0) throws(StorageError) {
        let id = try fileID(path)
        guard var inode = inodes[id], offset >= 0, offset < inode.current.count else {
            throw .invalidPath(path: path, reason: "offset \(offset) outside file")
        }
        inode.current[offset] ^= UInt8(1 << (bit & 7))
        if offset < inode.durable.count { inode.durable[offset] ^= UInt8(1 << (bit & 7)) }
        inodes[id] = inode
    }

    /// The current (not necessarily durable) contents of a file, or nil.
    public func contents(of path: String) -> [UInt8]? {
        guard let id = try? fileID(path) else { return nil }
        return inodes[id]?.current
    }

    // MARK: FileSystem

    public func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> any DurableFile {
        let (parent, name) = try split(path)
        switch mode {
        case .existing, .readOnly:
            try checkUp("open", path)
            return SimulatedFile(
                system: self, inode: try fileID(path), path: path, generation: generation, readOnly: mode == .readOnly)
        case .truncate:
            try beginMutation("create", path)
            guard var directory = directories[parent] else { throw .notFound(path: parent) }
            switch directory.entries[name] {
            case let .file(id):
                inodes[id]?.change(.resize(0))
                return SimulatedFile(system: self, inode: id, path: path, generation: generation, readOnly: false)
            case .directory:
                throw .invalidPath(path: path, reason: "is a directory")
            case nil:
                let id = nextInode
                nextInode += 1
                inodes[id] = Inode()
                directory.change(.set(name, .file(id)))
                directories[parent] = directory
                return SimulatedFile(system: self, inode: id, path: path, generation: generation, readOnly: false)
            }
        }
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        try checkUp("mkdir", path)
        var current = "/"
        for part in Path.components(path) {
            let child = Path.join(current, part)
            switch directories[current]?.entries[part] {
            case .directory:
                break
            case .file:
                throw .invalidPath(path: child, reason: "exists and is not a directory")
            case nil:
                try beginMutation("mkdir", child)
                directories[current]?.change(.set(part, .directory))
                directories[child] = Directory()
            }
            current = child
        }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        let key = normalized(path)
        try beginMutation("fsync directory", key)
        guard var directory = directories[key] else { throw .notFound(path: path) }
        directory.durable = directory.entries
        directory.pending = []
        directories[key] = directory
    }

    public func rename(_ from: String, to: String) throws(StorageError) {
        let (parent, fromName) = try split(from)
        let (toParent, toName) = try split(to)
        guard parent == toParent else {
            throw .invalidPath(path: to, reason: "simulated rename must stay within one directory")
        }
        try beginMutation("rename to \(toName)", from)
        guard let entry = directories[parent]?.entries[fromName], case .file = entry else {
            throw .notFound(path: from)
        }
        directories[parent]?.change(.rename(from: fromName, to: toName, entry))
    }

    public func remove(_ path: String) throws(StorageError) {
        let (parent, name) = try split(path)
        try beginMutation("unlink", path)
        guard case .file = directories[parent]?.entries[name] else { throw .notFound(path: path) }
        directories[parent]?.change(.remove(name))
    }

    public func listDirectory(_ path: String) throws(StorageError) -> [String] {
        try checkUp("list", path)
        guard let directory = directories[normalized(path)] else { throw .notFound(path: path) }
        return directory.entries.keys.sorted()
    }

    public func exists(_ path: String) -> Bool {
        guard !isDown else { return false }
        guard let (parent, name) = try? split(path) else { return true }  // the root
        return directories[parent]?.entries[name] != nil
    }

    // MARK: File operations (called by SimulatedFile)

    func size(_ file: SimulatedFile) throws(StorageError) -> Int {
        try live(file, "size").current.count
    }

    func read(_ file: SimulatedFile, at offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        let data = try live(file, "read").current
        guard offset >= 0, count >= 0 else { throw .invalidPath(path: file.path, reason: "negative read") }
        guard offset < data.count else { return [] }
        return Array(data[offset..<min(data.count, offset + count)])
    }

    func change(_ file: SimulatedFile, _ operation: String, _ change: FileChange) throws(StorageError) {
        _ = try live(file, operation)
        guard !file.readOnly else { throw .invalidPath(path: file.path, reason: "\(operation) on a read-only handle") }
        try beginMutation(operation, file.path)
        inodes[file.inode]?.change(change)
    }

    func sync(_ file: SimulatedFile) throws(StorageError) {
        _ = try live(file, "fsync")
        guard !file.readOnly else { throw .invalidPath(path: file.path, reason: "fsync on a read-only handle") }
        try beginMutation("fsync", file.path)
        guard var inode = inodes[file.inode] else { return }
        inode.durable = inode.current
        inode.pending = []
        inodes[file.inode] = inode
    }

    // MARK: Internals

    private func live(_ file: SimulatedFile, _ operation: String) throws(StorageError) -> Inode {
        try checkUp(operation, file.path)
        guard file.generation == generation, !file.closed, let inode = inodes[file.inode] else {
            throw .invalidPath(path: file.path, reason: "stale or closed file handle")
        }
        return inode
    }

    private func checkUp(_ operation: String, _ path: String) throws(StorageError) {
        if isDown { throw .simulatedCrash(operation: operation, path: path) }
    }

    private func beginMutation(_ operation: String, _ path: String) throws(StorageError) {
        try checkUp(operation, path)
        if let point = crashPoint, mutatingOperations >= point {
            isDown = true
            trace.append("down before \(operation) \(path)")
            throw .simulatedCrash(operation: operation, path: path)
        }
        mutatingOperations += 1
        trace.append("\(operation) \(path)")
    }

    private func normalized(_ path: String) -> String {
        "/" + Path.components(path).joined(separator: "/")
    }

    private func split(_ path: String) throws(StorageError) -> (parent: String, name: String) {
        var parts = Path.components(path)
        guard let name = parts.popLast() else { throw .invalidPath(path: path, reason: "no file name") }
        return ("/" + parts.joined(separator: "/"), name)
    }

    private func fileID(_ path: String) throws(StorageError) -> Int {
        let (parent, name) = try split(path)
        switch directories[parent]?.entries[name] {
        case let .file(id): return id
        case .directory: throw .invalidPath(path: path, reason: "is a directory")
        case nil: throw .notFound(path: path)
        }
    }

    private func survivingContents(of inode: Inode, _ policy: CrashPolicy) -> [UInt8] {
        switch policy {
        case .keepUnsynced: return inode.current
        case .loseUnsynced: return inode.durable
        case .randomSectors:
            // Each sector dirtied since the last sync reaches the disk with
            // its latest contents, or not at all.
            let sectorSize = 512
            var dirty = Set<Int>()
            for case let .write(offset, bytes) in inode.pending where !bytes.isEmpty {
                for sector in (offset / sectorSize)...((offset + bytes.count - 1) / sectorSize) { dirty.insert(sector) }
            }
            let kept = Set(dirty.sorted().filter { _ in Bool.random(using: &random) })
            var data = inode.durable
            for change in inode.pending {
                guard case let .write(offset, bytes) = change else {
                    change.apply(to: &data)
                    continue
                }
                var start = 0
                while start < bytes.count {  // one pass per sector touched
                    let end = min(bytes.count, start + sectorSize - (offset + start) % sectorSize)
                    if kept.contains((offset + start) / sectorSize) {
                        FileChange.write(offset: offset + start, bytes: Array(bytes[start..<end])).apply(to: &data)
                    }
                    start = end
                }
            }
            return data
        case .random:
            var data = inode.durable
            let kept = Int.random(in: 0...inode.pending.count, using: &random)
            for change in inode.pending[0..<kept] { change.apply(to: &data) }
            if kept < inode.pending.count, case let .write(offset, bytes) = inode.pending[kept],
                !bytes.isEmpty, Bool.random(using: &random)
            {
                let prefix = Int.random(in: 0..<bytes.count, using: &random)
                var torn = Array(bytes[0..<prefix])
                if Bool.random(using: &random) {
                    let garbage = Int.random(in: 0...(bytes.count - prefix), using: &random)
                    for _ in 0..<garbage { torn.append(UInt8.random(in: 0...255, using: &random)) }
                }
                FileChange.write(offset: offset, bytes: torn).apply(to: &data)
            }
            return data
        }
    }

    private func survivingEntries(of directory: Directory, _ policy: CrashPolicy) -> [String: Entry] {
        switch policy {
        case .keepUnsynced: return directory.entries
        case .loseUnsynced: return directory.durable
        case .random, .randomSectors:
            var entries = directory.durable
            let kept = Int.random(in: 0...directory.pending.count, using: &random)
            for change in directory.pending[0..<kept] { change.apply(to: &entries) }
            return entries
        }
    }
}

/// A handle into a `SimulatedFileSystem`. Dies at the next `crash()`.
public final class SimulatedFile: DurableFile {
    public let path: String
    let inode: Int
    let generation: Int
    let readOnly: Bool
    private(set) var closed = false
    private let system: SimulatedFileSystem

    init(system: SimulatedFileSystem, inode: Int, path: String, generation: Int, readOnly: Bool) {
        self.system = system
        self.inode = inode
        self.path = path
        self.generation = generation
        self.readOnly = readOnly
    }

    public func size() throws(StorageError) -> Int { try system.size(self) }

    public func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        try system.read(self, at: offset, count: count)
    }

    public func write(_ bytes: [UInt8], at offset: Int) throws(StorageError) {
        guard offset >= 0 else { throw .invalidPath(path: path, reason: "negative offset") }
        try system.change(self, "write", .write(offset: offset, bytes: bytes))
    }

    public func sync() throws(StorageError) { try system.sync(self) }

    public func truncate(to size: Int) throws(StorageError) {
        guard size >= 0 else { throw .invalidPath(path: path, reason: "negative size") }
        try system.change(self, "truncate", .resize(size))
    }

    public func preallocate(size: Int) throws(StorageError) {
        guard try self.size() < size else { return }
        try system.change(self, "preallocate", .resize(size))
    }

    public func close() { closed = true }
}
