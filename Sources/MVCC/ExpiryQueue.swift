/// Leases ordered by the time they are next due for an expiry check (etcd's
/// `LeaseExpiredNotifier`): a binary min-heap with a position map, so a
/// renewal moves its lease in place instead of leaving stale entries behind.
struct ExpiryQueue: Sendable {
    struct Item: Sendable {
        var id: Int64
        var due: Duration
    }

    private var heap: [Item] = []
    private var positions: [Int64: Int] = [:]

    var count: Int { heap.count }
    var first: Item? { heap.first }

    /// Sets the lease's due time, adding it if absent.
    mutating func update(_ id: Int64, due: Duration) {
        if let i = positions[id] {
            let old = heap[i].due
            heap[i].due = due
            if due < old { siftUp(i) } else { siftDown(i) }
        } else {
            heap.append(Item(id: id, due: due))
            positions[id] = heap.count - 1
            siftUp(heap.count - 1)
        }
    }

    mutating func remove(_ id: Int64) {
        guard let i = positions[id] else { return }
        let last = heap.count - 1
        swapAt(i, last)
        heap.removeLast()
        positions[id] = nil
        if i < heap.count {
            siftDown(i)
            siftUp(i)
        }
    }

    mutating func removeAll() {
        heap.removeAll()
        positions.removeAll()
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        guard i != j else { return }
        heap.swapAt(i, j)
        positions[heap[i].id] = i
        positions[heap[j].id] = j
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].due < heap[parent].due else { return }
            swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while 2 * i + 1 < heap.count {
            let left = 2 * i + 1
            let right = left + 1
            var smallest = left
            if right < heap.count && heap[right].due < heap[left].due { smallest = right }
            guard heap[smallest].due < heap[i].due else { return }
            swapAt(i, smallest)
            i = smallest
        }
    }
}
