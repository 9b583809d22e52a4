import Foundation
import NIOSSL

/// swift-nio-ssl configurations made from etcd's `TLSInfo`, with etcd's
/// rules (`transport.TLSInfo.ServerConfig` / `ClientConfig`): TLS 1.2 at
/// least; a listener demands a verified certificate when a trusted CA is
/// given or client-cert auth is on; a dialer verifies the server's
/// certificate and address unless the certificate is self-signed.
///
/// Used for the connections swift-etcd makes itself (the peer transport);
/// the gRPC client listeners take the same files through
/// grpc-swift-nio-transport's own TLS configuration.
enum TLSConfigurations {
    static func server(_ info: TLSInfo, cipherSuites: CipherSuites) throws(TLSSetupError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try certificates(info.certFile).map { .certificate($0) },
            privateKey: .privateKey(try privateKey(info.keyFile)))
        configuration.minimumTLSVersion = .tlsv12
        if info.requiresClientCertificate {
            // Client certificates are checked against the CA, not against
            // the client's address (etcd's checkSAN is not implemented).
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = try trustRoots(info.trustedCAFile)
        } else {
            configuration.certificateVerification = .none
        }
        cipherSuites.apply(to: &configuration)
        return configuration
    }

    static func client(_ info: TLSInfo, cipherSuites: CipherSuites) throws(TLSSetupError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !info.isEmpty {
            configuration.certificateChain = try certificates(info.certFile).map { .certificate($0) }
            configuration.privateKey = .privateKey(try privateKey(info.keyFile))
        }
        configuration.minimumTLSVersion = .tlsv12
        configuration.trustRoots = try trustRoots(info.trustedCAFile)
        // Nobody signed a generated certificate, so a peer's cannot be
        // verified either: etcd sets InsecureSkipVerify for auto TLS.
        configuration.certificateVerification = info.isSelfSigned ? .none : .fullVerification
        cipherSuites.apply(to: &configuration)
        return configuration
    }

    static func context(_ configuration: TLSConfiguration) throws(TLSSetupError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("cannot create a TLS context: \(error)")
        }
    }

    private static func certificates(_ path: String) throws(TLSSetupError) -> [NIOSSLCertificate] {
        try requireReadable(path)
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(path)
            guard !chain.isEmpty else { throw TLSSetupError("tls: failed to find any PEM data in certificate input") }
            return chain
        } catch let error as TLSSetupError {
            throw error
        } catch {
            throw TLSSetupError("cannot load certificate \(path): \(error)")
        }
    }

    private static func privateKey(_ path: String) throws(TLSSetupError) -> NIOSSLPrivateKey {
        try requireReadable(path)
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw TLSSetupError("cannot load private key \(path): \(error)")
        }
    }

    private static func trustRoots(_ path: String) throws(TLSSetupError) -> NIOSSLTrustRoots {
        guard !path.isEmpty else { return .default }
        return .certificates(try certificates(path))
    }

    /// Go's wording for a missing file, which is what etcd prints.
    private static func requireReadable(_ path: String) throws(TLSSetupError) {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TLSSetupError(
                FileManager.default.fileExists(atPath: path)
                    ? "open \(path): permission denied" : "open \(path): no such file or directory")
        }
    }
}
