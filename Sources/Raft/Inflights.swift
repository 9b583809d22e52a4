/// The append messages sent to one follower but not yet acknowledged, for flow control.
///
/// Bounded by count (`maxInflightMsgs`) and by total payload bytes; while full, the leader stops
/// sending new appends to that follower until acknowledgements free space.
struct Inflights: Sendable, Hashable {
    private struct Flight: Sendable, Hashable {
        var lastIndex: UInt64
        var bytes: UInt64
    }

    let capacity: Int
    let maxBytes: UInt64
    private var flights: [Flight] = []
    private var head = 0
    private(set) var bytes: UInt64 = 0

    init(capacity: Int, maxBytes: UInt64) {
        self.capacity = Swift.max(capacity, 1)
        self.maxBytes = maxBytes
    }

    var count: Int { flights.count - head }
    var isFull: Bool { count >= capacity || (maxBytes > 0 && bytes >= maxBytes) }

    mutating func add(lastIndex: UInt64, bytes: UInt64) {
        flights.append(Flight(lastIndex: lastIndex, bytes: bytes))
        self.bytes += bytes
    }

    /// Frees every flight whose last index is ≤ `index` (they are acknowledged).
    mutating func freeLE(_ index: UInt64) {
        while head < flights.count, flights[head].lastIndex <= index {
            bytes -= flights[head].bytes
            head += 1
        }
        compactIfNeeded()
    }

    /// Frees the oldest flight; a heartbeat response proves the follower is alive, so one slot
    /// is released to keep a stalled pipeline moving.
    mutating func freeFirst() {
        guard head < flights.count else { return }
        bytes -= flights[head].bytes
        head += 1
        compactIfNeeded()
    }

    mutating func reset() {
        flights = []
        head = 0
        bytes = 0
    }

    private mutating func compactIfNeeded() {
        if head == flights.count {
            flights.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > flights.count {
            flights.removeFirst(head)
            head = 0
        }
    }
}
