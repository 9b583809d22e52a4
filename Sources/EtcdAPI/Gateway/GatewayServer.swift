import GRPCCore
import GRPCInProcessTransport

/// The gateway's way into the gRPC API: the client port's services served
/// once more over grpc-swift's in-process transport (no socket, no TLS),
/// and a client of it. etcd's gateway dials its own client URL instead;
/// in process the JSON path skips a TCP round trip and never meets the
/// client port's TLS or connection limits.
struct GatewayServer: Sendable {
    let client: GatewayClient
    /// Whether the services include etcd's Auth API.
    let servesAuth: Bool
    private let server: GRPCServer<InProcessTransport.Server>

    init(services: [any RegistrableRPCService], interceptors: [any ServerInterceptor], maxMessageBytes: Int) {
        let transport = InProcessTransport()
        let cancellation = GatewayCancellation()
        server = GRPCServer(
            transport: transport.server, services: services,
            interceptors: [GatewayCancellationInterceptor(cancellation: cancellation)] + interceptors)
        client = GatewayClient(
            grpc: GRPCClient(transport: transport.client), maxMessageBytes: maxMessageBytes, cancellation: cancellation)
        var router = RPCRouter<InProcessTransport.Server>()
        for service in services { service.registerMethods(with: &router) }
        servesAuth = router.hasHandler(forMethod: Etcdserverpb_Auth.Method.Authenticate.descriptor)
    }

    /// Runs server and client until the task is cancelled.
    func run() async throws {
        let server = server
        let grpc = client.grpc
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            group.addTask { try await grpc.runConnections() }
        }
    }
}
