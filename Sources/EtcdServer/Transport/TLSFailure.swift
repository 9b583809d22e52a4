import NIOSSL

/// A TLS error on a peer connection that an operator must hear about: a
/// failed handshake (no certificate, a certificate from another CA, an
/// address the certificate does not name). Ordinary closes are not.
struct TLSFailure: Error, Hashable, CustomStringConvertible {
    let description: String

    init?(_ error: any Error) {
        switch error {
        case let error as NIOSSLError:
            switch error {
            case .handshakeFailed(let reason): description = "TLS handshake failed: \(Self.reasons(in: "\(reason)"))"
            case .uncleanShutdown: return nil
            default: description = "\(error)"
            }
        case let error as NIOSSLExtraError:
            description = "\(error)"
        case let error as BoringSSLError:
            // After a TLS 1.3 handshake the client learns of its refusal from an alert on read.
            description = "TLS error: \(Self.reasons(in: "\(error)"))"
        default:
            return nil
        }
    }

    /// BoringSSL's reason codes (`CERTIFICATE_VERIFY_FAILED`,
    /// `TLSV1_ALERT_UNKNOWN_CA`, …) out of its error queue's text, which
    /// otherwise carries numeric codes and source paths; the text as is if
    /// none is found.
    private static func reasons(in text: String) -> String {
        let found = text.matches(of: /OPENSSL_internal:([A-Z0-9_]+)/).map { String($0.1) }
        return found.isEmpty ? text : found.joined(separator: ", ")
    }
}
