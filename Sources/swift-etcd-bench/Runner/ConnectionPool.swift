import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore

typealias EtcdClient = GRPCClient<HTTP2ClientTransport.Posix>

/// `--conns` gRPC clients, one HTTP/2 connection each, spread round-robin
/// over the endpoints; benchmark clients share them round-robin, as etcd's
/// tool does, so that connection count and concurrency vary independently.
struct ConnectionPool: Sendable {
    let clients: [EtcdClient]

    /// The connection that benchmark client number `index` uses.
    func client(for index: Int) -> EtcdClient {
        clients[index % clients.count]
    }

    /// Opens the connections, runs `body`, then shuts them down; waits at
    /// most `shutdownGrace` for calls still open before cancelling them, so
    /// a stuck server cannot keep the tool from exiting.
    static func with<T: Sendable>(
        addresses: [ServerAddress], conns: Int, shutdownGrace: Duration = .seconds(5),
        _ body: (ConnectionPool) async throws -> T
    ) async throws -> T {
        let clients = try (0..<conns).map { index in
            EtcdClient(transport: try HTTP2ClientTransport.Posix(
                target: addresses[index % addresses.count].target,
                transportSecurity: .plaintext,
                // Watch fan-out streams a lot to the client: a large window
                // keeps flow control from being what is measured. See
                // ServerPingAnswerer for the pipeline addition.
                config: .defaults { config in
                    config.http2.targetWindowSize = 8 * 1024 * 1024
                    config.channelDebuggingCallbacks.onCreateTCPConnection = { channel in
                        channel.eventLoop.submit {
                            try channel.pipeline.syncOperations.addHandler(ServerPingAnswerer(), position: .first)
                        }
                    }
                }))
        }
        let pool = ConnectionPool(clients: clients)
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            for client in clients {
                group.addTask { try await client.runConnections(); return true }
            }
            let result: Result<T, any Error>
            do { result = .success(try await body(pool)) } catch { result = .failure(error) }
            for client in clients { client.beginGracefulShutdown() }
            group.addTask { try? await Task.sleep(for: shutdownGrace); return false }
            var closed = 0
            while closed < clients.count, let finished = try? await group.next() {
                if finished { closed += 1 } else { break }
            }
            group.cancelAll()
            return try result.get()
        }
    }
}
