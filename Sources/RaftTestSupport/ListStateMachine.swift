import Raft

/// The toy state machine of simulated nodes: an ordered list of distinct applied payloads.
///
/// Duplicates are ignored, so a client may safely retry a proposal whose fate it does not know
/// (the simulator's liveness phase does exactly that).
public struct ListStateMachine: Sendable, Hashable {
    public private(set) var values: [[UInt8]] = []
    private var seen: Set<[UInt8]> = []

    public init() {}

    public mutating func apply(_ data: [UInt8]) {
        guard !data.isEmpty, seen.insert(data).inserted else { return }
        values.append(data)
    }

    public func contains(_ data: [UInt8]) -> Bool { seen.contains(data) }

    public var snapshotData: [UInt8] {
        var w = BinaryWriter()
        w.write(UInt64(values.count))
        for v in values { w.write(v) }
        return w.bytes
    }

    public init(snapshotData: [UInt8]) throws(BinaryDecodingError) {
        guard !snapshotData.isEmpty else { return }
        var r = BinaryReader(snapshotData)
        let count = try r.readCount()
        for _ in 0..<count { apply(try r.readBytes()) }
    }
}
