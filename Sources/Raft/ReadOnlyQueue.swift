/// The leader's queue of ReadIndex requests (Raft thesis §6.4, the "safe" variant).
///
/// Each request piggybacks its context on a heartbeat round. Requests are confirmed in order:
/// once a quorum answers the heartbeat for one request, it and every earlier request are safe,
/// because the leader was still leader after all of them arrived.
struct ReadOnlyQueue: Sendable {
    private var pending: [[UInt8]: PendingRead] = [:]
    private var order: [[UInt8]] = []

    var isEmpty: Bool { order.isEmpty }

    /// The most recent request, whose context the next heartbeat carries.
    var lastContext: [UInt8]? { order.last }

    mutating func add(index: UInt64, context: [UInt8], requester: NodeID, leader: NodeID) {
        guard pending[context] == nil else { return }
        pending[context] = PendingRead(index: index, context: context, requester: requester, acks: [leader])
        order.append(context)
    }

    /// Records a heartbeat acknowledgement; returns the acknowledgers so far.
    mutating func recordAck(from id: NodeID, context: [UInt8]) -> Set<NodeID>? {
        guard pending[context] != nil else { return nil }
        pending[context]?.acks.insert(id)
        return pending[context]?.acks
    }

    /// Removes and returns every request up to and including `context`.
    mutating func release(through context: [UInt8]) -> [PendingRead] {
        guard let position = order.firstIndex(of: context) else { return [] }
        let released = order[...position].compactMap { pending.removeValue(forKey: $0) }
        order.removeFirst(position + 1)
        return released
    }
}
