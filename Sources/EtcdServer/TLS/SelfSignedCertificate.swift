import Crypto
import Foundation
import Logging
import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#elseif canImport(Musl)
import Musl
#endif

/// `--auto-tls` / `--peer-auto-tls`: a self-signed certificate made at
/// start, as etcd's `transport.SelfCert` makes it — an ECDSA key,
/// organization `etcd`, valid for a year, `serverAuth`, the listen URLs'
/// hosts as subject alternative names — in `<dir>/cert.pem` and
/// `<dir>/key.pem` (`<data-dir>/fixtures/client` or `…/peer`).
///
/// The key is P-384 where etcd's is P-521: BoringSSL does not offer P-521
/// signatures in TLS by default, so our own peers and lease forwarder
/// could not complete a handshake with a P-521 certificate.
///
/// Like etcd, an existing pair is reused, so a restart keeps its
/// certificate; the key file is readable by its owner only.
enum SelfSignedCertificate {
    static func ensure(in directory: String, hosts: [String], logger: Logger) throws(TLSSetupError) -> TLSInfo {
        let certPath = directory + "/cert.pem"
        let keyPath = directory + "/key.pem"
        let files = FileManager.default
        if files.fileExists(atPath: certPath) && files.fileExists(atPath: keyPath) {
            return TLSInfo(certFile: certPath, keyFile: keyPath, isSelfSigned: true)
        }
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let (certificatePEM, keyPEM) = try make(hosts: hosts)
            try Data(certificatePEM.utf8).write(to: URL(fileURLWithPath: certPath))
            logger.info("created cert file", metadata: ["path": "\(certPath)"])
            guard files.createFile(atPath: keyPath, contents: Data(keyPEM.utf8), attributes: [.posixPermissions: 0o600])
            else { throw TLSSetupError("cannot write key file \(keyPath)") }
            logger.info("created key file", metadata: ["path": "\(keyPath)"])
        } catch let error as TLSSetupError {
            throw error
        } catch {
            throw TLSSetupError("cannot generate a self-signed certificate in \(directory): \(error)")
        }
        return TLSInfo(certFile: certPath, keyFile: keyPath, isSelfSigned: true)
    }

    /// The PEM certificate and PEM (PKCS#8) key for `hosts`.
    static func make(hosts: [String], now: Date = Date()) throws -> (certificate: String, key: String) {
        let key = P384.Signing.PrivateKey()
        let name = try DistinguishedName { OrganizationName("etcd") }
        let alternativeNames = hosts.map(generalName(for:))
        let extensions = try Certificate.Extensions {
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            try ExtendedKeyUsage([.serverAuth])
            Critical(BasicConstraints.notCertificateAuthority)
            if !alternativeNames.isEmpty {
                SubjectAlternativeNames(alternativeNames)
            }
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now, notValidAfter: now.addingTimeInterval(365 * 24 * 3600),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA384,
            extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    /// An IP literal becomes an IP address name, anything else a DNS name
    /// (etcd: `net.ParseIP`).
    private static func generalName(for host: String) -> GeneralName {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            let bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return .ipAddress(ASN1OctetString(contentBytes: bytes[...]))
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return .ipAddress(ASN1OctetString(contentBytes: bytes[...]))
        }
        return .dnsName(host)
    }
}
