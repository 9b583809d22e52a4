/// Where a member's peer listener can be reached. The transport's own small type, so that it
/// does not depend on how the server spells member URLs.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The member's URL is `https`: connections to or on it are wrapped in TLS.
    public var usesTLS: Bool

    public init(host: String, port: Int, usesTLS: Bool = false) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension PeerAddress {
    /// The name to send in TLS SNI and verify the certificate against: the host, unless it is
    /// an IP literal, which SNI cannot carry (the certificate is then checked against the
    /// connected IP address instead).
    var serverNameIndication: String? {
        let isIPv4 = host.split(separator: ".", omittingEmptySubsequences: false).count == 4
            && host.allSatisfy { $0.isNumber || $0 == "." }
        return isIPv4 || host.contains(":") ? nil : host
    }
}
