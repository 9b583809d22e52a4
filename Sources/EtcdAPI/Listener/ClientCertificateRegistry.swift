import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS
import SwiftASN1
import X509

/// The common name of each TLS client connection's verified certificate,
/// by the peer address gRPC reports as `ServerContext.remotePeer`.
///
/// The listener owns the TLS handler (one port serves gRPC and HTTP/1.1), so
/// gRPC's own transport context no longer carries the certificate; the
/// recorder below notes it when the handshake completes and forgets it when
/// the connection closes, and auth looks the caller up here (etcd uses the
/// CN as the user under `--client-cert-auth`).
final class ClientCertificateRegistry: Sendable {
    private let names = NIOLockedValueBox<[String: String]>([:])

    func commonName(forPeer peer: String) -> String? {
        names.withLockedValue { $0[peer] }
    }

    func record(_ name: String, forPeer peer: String) {
        names.withLockedValue { $0[peer] = name }
    }

    func forget(peer: String) {
        _ = names.withLockedValue { $0.removeValue(forKey: peer) }
    }

    /// gRPC's spelling of a peer address (`ipv4:host:port`, `ipv6:[host]:port`).
    static func peerKey(_ address: SocketAddress?) -> String? {
        guard let address, let port = address.port, let ip = address.ipAddress else { return nil }
        switch address {
        case .v4: return "ipv4:\(ip):\(port)"
        case .v6: return "ipv6:[\(ip)]:\(port)"
        default: return nil
        }
    }

    /// The CN of a DER certificate's subject.
    static func commonName(of certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        for rdn in parsed.subject {
            for attribute in rdn where attribute.type == ASN1ObjectIdentifier.RDNAttributeType.commonName {
                let name = attribute.value.description
                if !name.isEmpty { return name }
            }
        }
        return nil
    }
}

/// Sits after `NIOSSLServerHandler`: records the peer certificate's CN once
/// the handshake completes, forgets it when the connection goes.
final class ClientCertificateRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let registry: ClientCertificateRegistry
    private var peer: String?

    init(registry: ClientCertificateRegistry) {
        self.registry = registry
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, let key = ClientCertificateRegistry.peerKey(context.channel.remoteAddress) {
            peer = key
            let registry = registry
            context.channel.nioSSL_peerCertificate().whenSuccess { certificate in
                if let certificate, let name = ClientCertificateRegistry.commonName(of: certificate) {
                    registry.record(name, forPeer: key)
                }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let peer { registry.forget(peer: peer) }
        context.fireChannelInactive()
    }
}
