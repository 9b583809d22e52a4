import EtcdServer
import Logging

/// The flags swift-etcd accepts: etcd's names, meanings and defaults.
final class EtcdFlags {
    var config = ServerConfig()
    var logLevel: Logger.Level = .info
    var printVersion = false
    /// `--auth-token`: etcd's `type[,name=value...]`.
    var authToken = "simple"
    /// Whether --advertise-client-urls was given (etcd requires it when
    /// --listen-client-urls is set).
    var flagSet = FlagSet()

    init() {
        define()
        defineTLS()
    }

    private func define() {
        flagSet.add("name", usage: "Human-readable name for this member.") { [unowned self] v in
            config.name = v
            return nil
        }
        flagSet.add("data-dir", usage: "Path to the data directory.") { [unowned self] v in
            config.dataDir = v
            return nil
        }
        flagSet.add("listen-client-urls", usage: "List of URLs to listen on for client traffic.") { [unowned self] v in
            Self.parseURLs(v).map { config.listenClientURLs = $0 }.error
        }
        flagSet.add("advertise-client-urls", usage: "List of this member's client URLs to advertise to the public.") {
            [unowned self] v in
            Self.parseURLs(v).map { config.advertiseClientURLs = $0 }.error
        }
        flagSet.add(
            "listen-metrics-urls",
            usage: "List of URLs to listen on for the metrics and health endpoints."
        ) { [unowned self] v in
            Self.parseURLs(v).map { config.listenMetricsURLs = $0 }.error
        }
        flagSet.add(
            "enable-grpc-gateway", usage: "Enable GRPC gateway.", isBool: true
        ) { [unowned self] v in
            guard let b = Bool(v) else { return "parse error" }
            config.enableGRPCGateway = b
            return nil
        }
        flagSet.add("listen-peer-urls", usage: "List of URLs to listen on for peer traffic.") { [unowned self] v in
            Self.parseURLs(v).map { config.listenPeerURLs = $0 }.error
        }
        flagSet.add(
            "initial-advertise-peer-urls", usage: "List of this member's peer URLs to advertise to the rest of the cluster."
        ) { [unowned self] v in
            Self.parseURLs(v).map { config.initialAdvertisePeerURLs = $0 }.error
        }
        flagSet.add("initial-cluster", usage: "Initial cluster configuration for bootstrapping.") { [unowned self] v in
            Self.parseInitialCluster(v).map { config.initialCluster = $0 }.error
        }
        flagSet.add("initial-cluster-state", usage: "Initial cluster state ('new' or 'existing').") { [unowned self] v in
            guard let state = ServerConfig.ClusterState(rawValue: v) else {
                return "invalid value"
            }
            config.initialClusterState = state
            return nil
        }
        flagSet.add("initial-cluster-token", usage: "Initial cluster token for the etcd cluster during bootstrap.") {
            [unowned self] v in
            config.initialClusterToken = v
            return nil
        }
        flagSet.add("snapshot-count", usage: "Number of committed transactions to trigger a snapshot to disk.") {
            [unowned self] v in
            guard let n = UInt64(v) else { return "parse error" }
            config.snapshotCount = Int(clamping: n)
            return nil
        }
        flagSet.add(
            "experimental-snapshot-catchup-entries",
            usage: "Number of entries for a slow follower to catch up after compacting the raft storage entries."
        ) { [unowned self] v in
            guard let n = UInt64(v) else { return "parse error" }
            config.snapshotCatchUpEntries = Int(clamping: n)
            return nil
        }
        flagSet.add("max-txn-ops", usage: "Maximum number of operations permitted in a transaction.") { [unowned self] v in
            guard let n = UInt32(v) else { return "parse error" }
            config.maxTxnOps = Int(n)
            return nil
        }
        flagSet.add("max-request-bytes", usage: "Maximum client request size in bytes the server will accept.") {
            [unowned self] v in
            guard let n = UInt32(v) else { return "parse error" }
            config.maxRequestBytes = Int(n)
            return nil
        }
        flagSet.add(
            "quota-backend-bytes",
            usage: "Raise alarms when backend size exceeds the given quota. 0 means use the default quota."
        ) { [unowned self] v in
            guard let n = Int64(v) else { return "parse error" }
            config.quotaBackendBytes = n == 0 ? 2 * 1024 * 1024 * 1024 : n
            return nil
        }
        flagSet.add("heartbeat-interval", usage: "Time (in milliseconds) of a heartbeat interval.") { [unowned self] v in
            guard let n = UInt32(v) else { return "parse error" }
            config.heartbeatIntervalMs = Int(n)
            return nil
        }
        flagSet.add("election-timeout", usage: "Time (in milliseconds) for an election to timeout.") { [unowned self] v in
            guard let n = UInt32(v) else { return "parse error" }
            config.electionTimeoutMs = Int(n)
            return nil
        }
        flagSet.add(
            "experimental-watch-progress-notify-interval",
            usage: "Duration of periodic watch progress notifications."
        ) { [unowned self] v in
            guard let d = GoDuration.parse(v), d > .zero else { return "parse error" }
            config.watchProgressNotifyInterval = d
            return nil
        }
        flagSet.add("auth-token", usage: "Specify auth token type and its options ('simple'; 'jwt' is not supported yet).") {
            [unowned self] v in
            // Checked after parsing: etcd refuses a bad value when the
            // server starts (exit 1), not as a flag error.
            authToken = v
            return nil
        }
        flagSet.add("auth-token-ttl", usage: "The lifetime in seconds of the auth token.") { [unowned self] v in
            guard let n = UInt32(v) else { return "parse error" }
            // etcd treats 0 as its default, 300 s.
            config.authTokenTTL = .seconds(Int64(n == 0 ? 300 : n))
            return nil
        }
        flagSet.add(
            "log-level", usage: "Configures log level. Only supports debug, info, warn, error, panic, or fatal. Default 'info'."
        ) { [unowned self] v in
            switch v {
            case "trace": logLevel = .trace
            case "debug": logLevel = .debug
            case "info": logLevel = .info
            case "warn": logLevel = .warning
            case "error": logLevel = .error
            case "panic", "fatal": logLevel = .critical
            default: return "unknown level \"\(v)\""
            }
            return nil
        }
        flagSet.add("logger", usage: "Accepted for compatibility; swift-etcd always logs structured JSON like 'zap'.") { v in
            ["zap", "capnslog"].contains(v) ? nil : "unknown logger \"\(v)\""
        }
        flagSet.add("version", usage: "Print the version and exit.", isBool: true) { [unowned self] v in
            guard let b = Bool(v) else { return "parse error" }
            printVersion = b
            return nil
        }
    }

    /// `name=url,...` as etcd's `--initial-cluster` takes it.
    static func parseInitialCluster(_ text: String) -> Result<[(name: String, peerURL: String)], URLParseError> {
        var members: [(name: String, peerURL: String)] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1)
            guard pieces.count == 2 else { return .failure(URLParseError("missing '=' in \(part)")) }
            if case .failure(let e) = EndpointURL.parse(String(pieces[1])) { return .failure(e) }
            members.append((String(pieces[0]), String(pieces[1])))
        }
        return .success(members)
    }

    static func parseURLs(_ text: String) -> Result<[EndpointURL], URLParseError> {
        var urls: [EndpointURL] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            switch EndpointURL.parse(String(part)) {
            case .success(let u): urls.append(u)
            case .failure(let e): return .failure(e)
            }
        }
        return .success(urls)
    }

    /// Usage text in etcd's shape.
    var usage: String {
        var lines = [
            "Usage:", "", "  swift-etcd [flags]", "    Start a swift-etcd server.", "",
            "  swift-etcd snapshot restore|status <filename> [options]",
            "    Restore a data directory from a snapshot, or print a snapshot's status (swift-etcd snapshot --help).", "",
            "Flags:",
        ]
        for name in flagSet.order {
            guard let flag = flagSet.flags[name] else { continue }
            lines.append("  --\(name)")
            lines.append("      \(flag.usage)")
        }
        return lines.joined(separator: "\n")
    }

    /// Cross-flag checks etcd makes after parsing; returns a fatal reason.
    func validate() -> String? {
        if flagSet.setOnCommandLine.contains("listen-client-urls") && !flagSet.setOnCommandLine.contains("advertise-client-urls")
            && ProcessEnvironment.value("ETCD_ADVERTISE_CLIENT_URLS") == nil
        {
            return "--advertise-client-urls is required when --listen-client-urls is set explicitly"
        }
        if !config.initialCluster.isEmpty && !config.initialCluster.contains(where: { $0.name == config.name }) {
            return "couldn't find local name \"\(config.name)\" in the initial cluster configuration"
        }
        if let reason = Self.authTokenProblem(authToken) { return reason }
        return nil
    }

    /// Why `--auth-token` cannot be used (etcd's `decomposeOpts` and
    /// token provider checks), or nil.
    static func authTokenProblem(_ spec: String) -> String? {
        let parts = spec.split(separator: ",", omittingEmptySubsequences: false)
        let options = parts.dropFirst().map { $0.split(separator: "=", omittingEmptySubsequences: false) }
        guard options.allSatisfy({ $0.count == 2 }), Set(options.map { $0[0] }).count == options.count else {
            return "auth: invalid auth options"
        }
        switch parts.first.map(String.init) ?? "" {
        case "simple": return nil
        case "jwt": return "--auth-token=jwt is not supported yet; use --auth-token=simple"
        default: return "auth: invalid auth options"
        }
    }
}

extension Result where Failure == URLParseError {
    /// The error text, or nil on success (the FlagSet setter convention).
    var error: String? {
        if case .failure(let e) = self { return e.description }
        return nil
    }
}
