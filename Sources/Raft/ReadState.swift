/// A linearizable read that is ready to serve: once the local applied index reaches `index`,
/// the caller may answer the read identified by `requestContext` from its state machine.
public struct ReadState: Sendable, Hashable {
    public var index: UInt64
    public var requestContext: [UInt8]

    public init(index: UInt64, requestContext: [UInt8]) {
        self.index = index
        self.requestContext = requestContext
    }
}
