/// A URL as etcd's flags accept them (`http://127.0.0.1:2379`).
public struct EndpointURL: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int

    public init(scheme: String, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Parses `scheme://host:port`; returns a reason etcd-style on failure.
    public static func parse(_ text: String) -> Result<EndpointURL, URLParseError> {
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        let scheme = parts.count == 2 ? String(parts[0]) : ""
        guard ["http", "https", "unix", "unixs"].contains(scheme) else {
            return .failure(.init("URL scheme must be http, https, unix, or unixs: \(text)"))
        }
        var rest = parts[1]
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...] == "/" else {
                return .failure(.init("URL must not contain a path: \(text)"))
            }
            rest = rest[..<slash]
        }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                return .failure(.init("URL address does not have the form \"host:port\": \(text)"))
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else {
                return .failure(.init("URL address does not have the form \"host:port\": \(text)"))
            }
            portText = after.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else {
                return .failure(.init("URL address does not have the form \"host:port\": \(text)"))
            }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            return .failure(.init("URL address does not have the form \"host:port\": \(text)"))
        }
        return .success(EndpointURL(scheme: scheme, host: String(host), port: port))
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(h):\(port)"
    }
}

public struct URLParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Everything a node needs to start, decided by flags and `ETCD_*` variables.
public struct ServerConfig: Sendable {
    public enum ClusterState: String, Sendable { case new, existing }

    public var name: String = "default"
    public var dataDir: String = "default.etcd"
    public var listenClientURLs: [EndpointURL] = [EndpointURL(scheme: "http", host: "localhost", port: 2379)]
    public var advertiseClientURLs: [EndpointURL] = [EndpointURL(scheme: "http", host: "localhost", port: 2379)]
    public var listenPeerURLs: [EndpointURL] = [EndpointURL(scheme: "http", host: "localhost", port: 2380)]
    public var initialAdvertisePeerURLs: [EndpointURL] = [EndpointURL(scheme: "http", host: "localhost", port: 2380)]
    /// `name=url,...`; empty means this member alone under `name`.
    public var initialCluster: [(name: String, peerURL: String)] = []
    public var initialClusterState: ClusterState = .new
    public var initialClusterToken: String = "etcd-cluster"
    public var maxTxnOps: Int = 128
    public var maxRequestBytes: Int = 1_572_864
    /// `--quota-backend-bytes`: 0 means the default, negative disables it.
    public var quotaBackendBytes: Int64 = 0
    /// etcd's default quota, 2 GiB.
    public static let defaultQuotaBackendBytes: Int64 = 2 * 1024 * 1024 * 1024
    public var heartbeatIntervalMs: Int = 100
    public var electionTimeoutMs: Int = 1000
    /// How often watchers that asked for progress notifications get one
    /// (etcd's `--experimental-watch-progress-notify-interval`, 10 minutes).
    public var watchProgressNotifyInterval: Duration = .seconds(600)
    /// Applied entries between snapshots (etcd's `--snapshot-count`); each
    /// snapshot lets the log and WAL before it go.
    public var snapshotCount: Int = 100_000
    /// Entries kept behind a snapshot for followers that lag a little
    /// (etcd's `SnapshotCatchUpEntries`, 5000; a flag from etcd 3.5).
    public var snapshotCatchUpEntries: Int = 5000
    /// TLS for `https` client URLs (`--cert-file`, `--key-file`,
    /// `--trusted-ca-file`, `--client-cert-auth`).
    public var clientTLS = TLSInfo()
    /// `--auto-tls`: generate a self-signed client certificate at start.
    public var clientAutoTLS = false
    /// TLS for `https` peer URLs, both listening and dialing
    /// (`--peer-cert-file`, `--peer-key-file`, `--peer-trusted-ca-file`,
    /// `--peer-client-cert-auth`).
    public var peerTLS = TLSInfo()
    /// `--peer-auto-tls`: generate a self-signed peer certificate at start.
    public var peerAutoTLS = false
    /// `--cipher-suites`, in etcd's (Go's) names; empty leaves the TLS
    /// library's defaults. Checked by `TLSSetup.prepare`.
    public var cipherSuites: [String] = []
    /// How long a simple auth token lives without use (etcd's
    /// `--auth-token-ttl`, 300 s).
    public var authTokenTTL: Duration = .seconds(300)
    /// `--listen-metrics-urls`: extra listeners serving `/metrics` and
    /// `/health` only (the client URLs serve them too).
    public var listenMetricsURLs: [EndpointURL] = []
    /// `--enable-grpc-gateway`: the JSON gateway under `/v3/` on the
    /// client URLs (etcd 3.4 enables it by default).
    public var enableGRPCGateway = true

    public init() {}

    /// The cluster membership at bootstrap: every member of
    /// `--initial-cluster`, or this member alone when it is empty.
    public func initialMembers() -> [Member] {
        var urlsByName: [String: [String]] = [:]
        var order: [String] = []
        if initialCluster.isEmpty {
            urlsByName[name] = initialAdvertisePeerURLs.map(\.description)
            order = [name]
        } else {
            for entry in initialCluster {
                if urlsByName[entry.name] == nil { order.append(entry.name) }
                urlsByName[entry.name, default: []].append(entry.peerURL)
            }
        }
        return order.map { memberName in
            let urls = urlsByName[memberName] ?? []
            return Member(
                id: ClusterIdentity.memberID(peerURLs: urls, token: initialClusterToken),
                name: memberName, peerURLs: urls.sorted(),
                // Client URLs are unknown until each member publishes them
                // through the log (etcd's attribute publish).
                clientURLs: [],
                isLearner: false)
        }
    }
}
