/// One record copied out of a transaction, for callers that keep it past the
/// transaction's end (the closure-based reads avoid the copy).
public struct BackendEntry: Hashable, Sendable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}
