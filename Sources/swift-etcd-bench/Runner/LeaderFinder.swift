import EtcdAPI
import GRPCCore
import GRPCNIOTransportHTTP2

/// Finds the current leader for `--target-leader` with Maintenance.Status,
/// which every member answers about itself (`leader == header.member_id`
/// on the leader), the same question `etcdctl endpoint status` asks.
enum LeaderFinder {
    struct NoLeader: Error, CustomStringConvertible {
        let asked: [ServerAddress]
        let failures: [String]
        var description: String {
            "no leader among \(asked.map(\.description).joined(separator: ","))"
                + (failures.isEmpty ? "" : " (\(failures.joined(separator: "; ")))")
        }
    }

    static func leader(among addresses: [ServerAddress], timeout: Duration) async throws -> ServerAddress {
        var options = CallOptions.defaults
        options.timeout = timeout
        var failures: [String] = []
        for address in addresses {
            do {
                let isLeader = try await withGRPCClient(
                    transport: .http2NIOPosix(target: address.target, transportSecurity: .plaintext)
                ) { client in
                    let status = try await Etcdserverpb_Maintenance.Client(wrapping: client)
                        .status(Etcdserverpb_StatusRequest(), options: options)
                    return status.leader != 0 && status.leader == status.header.memberID
                }
                if isLeader { return address }
            } catch {
                failures.append("\(address): \(ErrorLabel.of(error))")
            }
        }
        throw NoLeader(asked: addresses, failures: failures)
    }
}
