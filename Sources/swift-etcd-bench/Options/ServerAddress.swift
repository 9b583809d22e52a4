import ArgumentParser
import GRPCNIOTransportHTTP2

/// One server address from `--endpoints`.
struct ServerAddress: Sendable, CustomStringConvertible {
    let host: String
    let port: Int

    /// Accepts `host:port`, `http://host:port` and `localhost`, the forms
    /// etcdctl users already type.
    init(parsing text: String) throws {
        var rest = Substring(text)
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        if rest.hasPrefix("https://") { throw ValidationError("\(text): TLS endpoints are not supported yet") }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
              (1...65_535).contains(port), colon > rest.startIndex
        else { throw ValidationError("\(text): expected host:port") }
        let host = String(rest[..<colon])
        self.host = host == "localhost" ? "127.0.0.1" : host
        self.port = port
    }

    var description: String { "\(host):\(port)" }

    /// An IPv4 literal is connected to directly; anything else is resolved.
    var target: any ResolvableTarget {
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) {
            return ResolvableTargets.IPv4(addresses: [.init(host: host, port: port)])
        }
        return ResolvableTargets.DNS(host: host, port: port)
    }
}
