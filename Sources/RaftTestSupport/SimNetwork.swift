import Raft

/// A deterministic in-memory network between simulated nodes.
///
/// Time is counted in delivery rounds. Messages wait in flight until their round comes; links
/// can be cut (`partition`, `isolate`, `cut`) and restored (`heal`), and random faults drop,
/// delay, duplicate and reorder messages, all driven by one seeded generator.
public struct SimNetwork: Sendable {
    private struct InFlight: Sendable {
        var message: Message
        var deliverAt: UInt64
        var sequence: UInt64
    }

    private struct Link: Hashable, Sendable {
        var from: NodeID
        var to: NodeID
    }

    public var faults: NetworkFaults
    private var rng: SplitMix64
    private var inFlight: [InFlight] = []
    private var cutLinks: Set<Link> = []
    private var round: UInt64 = 0
    private var sequence: UInt64 = 0
    public private(set) var droppedCount = 0
    public private(set) var deliveredCount = 0

    public init(seed: UInt64, faults: NetworkFaults = .none) {
        rng = SplitMix64(seed: seed)
        self.faults = faults
    }

    public var inFlightCount: Int { inFlight.count }

    public func isConnected(_ from: NodeID, _ to: NodeID) -> Bool {
        !cutLinks.contains(Link(from: from, to: to))
    }

    /// Accepts a message for delivery, applying the random faults. Returns false if the
    /// message was lost on the way (so a transport could report it).
    @discardableResult
    public mutating func send(_ message: Message) -> Bool {
        guard isConnected(message.from, message.to) else {
            droppedCount += 1
            return false
        }
        if faults.dropPerMille > 0 && rng.chance(faults.dropPerMille, in: 1000) {
            droppedCount += 1
            return false
        }
        enqueue(message)
        if faults.duplicatePerMille > 0 && rng.chance(faults.duplicatePerMille, in: 1000) {
            enqueue(message)
        }
        return true
    }

    private mutating func enqueue(_ message: Message) {
        let delay = faults.maxDelay > 0 ? rng.next(below: faults.maxDelay + 1) : 0
        sequence += 1
        inFlight.append(InFlight(message: message, deliverAt: round + delay, sequence: sequence))
    }

    /// Ends the current round: returns the messages due now (dropping those whose link was cut
    /// while they were in flight), in send order unless reordering is on.
    public mutating func deliverDue() -> [Message] {
        var due: [InFlight] = []
        var waiting: [InFlight] = []
        for flight in inFlight {
            if flight.deliverAt <= round { due.append(flight) } else { waiting.append(flight) }
        }
        inFlight = waiting
        round += 1
        if faults.reorder && due.count > 1 {
            for i in stride(from: due.count - 1, to: 0, by: -1) {
                let j = Int(rng.next(below: UInt64(i + 1)))
                due.swapAt(i, j)
            }
        }
        var delivered: [Message] = []
        for flight in due {
            if isConnected(flight.message.from, flight.message.to) {
                delivered.append(flight.message)
            } else {
                droppedCount += 1
            }
        }
        deliveredCount += delivered.count
        return delivered
    }

    /// Loses every message still in flight.
    public mutating func dropAllInFlight() {
        droppedCount += inFlight.count
        inFlight = []
    }

    /// Cuts the link in one direction.
    public mutating func cut(from: NodeID, to: NodeID) {
        cutLinks.insert(Link(from: from, to: to))
    }

    /// Splits `nodes` into groups that can only talk among themselves.
    public mutating func partition(_ groups: [[NodeID]]) {
        cutLinks = []
        for (i, a) in groups.enumerated() {
            for (j, b) in groups.enumerated() where i != j {
                for x in a { for y in b { cutLinks.insert(Link(from: x, to: y)) } }
            }
        }
    }

    /// Cuts `node` off from every node in `others`, both directions.
    public mutating func isolate(_ node: NodeID, from others: [NodeID]) {
        for other in others where other != node {
            cutLinks.insert(Link(from: node, to: other))
            cutLinks.insert(Link(from: other, to: node))
        }
    }

    /// Restores every link.
    public mutating func heal() {
        cutLinks = []
    }
}
