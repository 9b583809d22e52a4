/// Why the transport could not start.
public enum PeerTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Another process (or transport) already listens there.
    case addressInUse(PeerAddress)
    case bindFailed(PeerAddress, reason: String)
    case alreadyStarted
    case stopped

    public var description: String {
        switch self {
        case let .addressInUse(address): "cannot listen for peers on \(address): address already in use"
        case let .bindFailed(address, reason): "cannot listen for peers on \(address): \(reason)"
        case .alreadyStarted: "peer transport already started"
        case .stopped: "peer transport was stopped"
        }
    }
}
