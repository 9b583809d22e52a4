import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftASN1
import X509

/// etcd's rule for `--client-cert-auth`: a call that carries no token is made
/// by the user named in the common name of the verified client certificate
/// of its connection.
enum ClientCertificateIdentity {
    /// The CN of the call's verified client certificate, if the call came
    /// over TLS with one.
    static func commonName(of context: ServerContext) -> String? {
        guard let tls = context.transportSpecific as? HTTP2ServerTransport.Posix.Context,
            let certificate = tls.peerCertificate
        else { return nil }
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == ASN1ObjectIdentifier.RDNAttributeType.commonName {
                let name = attribute.value.description
                if !name.isEmpty { return name }
            }
        }
        return nil
    }
}
