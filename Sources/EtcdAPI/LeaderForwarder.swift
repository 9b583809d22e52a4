import EtcdServer
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging

/// Carries requests only the leader can answer (lease keep-alives) from a
/// follower to the leader, over the leader's published client URL.
///
/// etcd forwards the same requests over its peer HTTP API; we reuse the
/// client API, which the leader already serves, so no second protocol is
/// needed. One connection to the current leader is kept open and replaced
/// when the leader changes.
actor LeaderForwarder {
    private let logger: Logger
    /// The member's client certificate files, presented to an `https`
    /// leader (etcd forwards with its peer certificate over the peer API;
    /// we use the client API, so the client certificate and CA fit).
    private let tls: TLSInfo
    private var connection: Connection?

    private struct Connection {
        var target: String
        var client: GRPCClient<HTTP2ClientTransport.Posix>
        var task: Task<Void, Never>
    }

    init(logger: Logger, tls: TLSInfo = TLSInfo()) {
        self.logger = logger
        self.tls = tls
    }

    /// Renews lease `id` on the leader reachable at `leaderURL`; returns the
    /// TTL the leader granted (0 for a lease it does not know).
    func renew(_ id: Int64, leaderURL: String) async throws -> Int64 {
        let client = try client(for: leaderURL)
        let lease = Etcdserverpb_Lease.Client(wrapping: client)
        var request = Etcdserverpb_LeaseKeepAliveRequest()
        request.id = id
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        return try await lease.leaseKeepAlive(
            options: options,
            requestProducer: { [request] writer in try await writer.write(request) },
            onResponse: { response in
                for try await message in response.messages { return message.ttl }
                throw RPCError(code: .unavailable, message: "etcdserver: no leader")
            })
    }

    /// Asks the leader at `leaderURL` for lease `id`'s time to live: only
    /// its lessor knows the remaining TTL.
    func timeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest, leaderURL: String) async throws
        -> Etcdserverpb_LeaseTimeToLiveResponse
    {
        let lease = Etcdserverpb_Lease.Client(wrapping: try client(for: leaderURL))
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        return try await lease.leaseTimeToLive(request, options: options)
    }

    private func client(for url: String) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        if let connection, connection.target == url { return connection.client }
        connection?.client.beginGracefulShutdown()
        guard case .success(let endpoint) = EndpointURL.parse(url) else {
            throw RPCError(code: .unavailable, message: "etcdserver: no leader")
        }
        let host = endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host
        let client = GRPCClient(
            transport: try .http2NIOPosix(
                target: .ipv4(address: host, port: endpoint.port),
                transportSecurity: endpoint.scheme == "https" ? Self.transportSecurity(tls) : .plaintext))
        let task = Task { _ = try? await client.runConnections() }
        logger.debug("forwarding to the leader", metadata: ["leader-client-url": "\(url)"])
        connection = Connection(target: url, client: client, task: task)
        return client
    }

    /// Verifies the leader's certificate against the trusted CA (or the
    /// system's roots without one), presenting our certificate if we have
    /// one; a self-signed (auto TLS) leader cannot be verified, so it is not.
    private static func transportSecurity(_ tls: TLSInfo) -> HTTP2ClientTransport.Posix.TransportSecurity {
        .tls { config in
            if !tls.isEmpty {
                config.certificateChain = [.file(path: tls.certFile, format: .pem)]
                config.privateKey = .file(path: tls.keyFile, format: .pem)
            }
            if !tls.trustedCAFile.isEmpty {
                config.trustRoots = .certificates([.file(path: tls.trustedCAFile, format: .pem)])
            }
            if tls.isSelfSigned {
                config.serverCertificateVerification = .noVerification
            }
        }
    }

    func shutdown() {
        connection?.client.beginGracefulShutdown()
        connection = nil
    }
}
