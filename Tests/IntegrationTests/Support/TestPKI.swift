import Foundation

/// Certificates for one test, made with `openssl` in a temporary directory:
/// a CA; a server certificate it signed for 127.0.0.1 (usable as a client
/// certificate too, as members present it when they dial each other); a
/// client certificate; and a second, foreign CA with a certificate of its
/// own that nobody in the cluster trusts.
struct TestPKI {
    let directory: URL

    var caFile: String { path("ca.pem") }
    var serverCert: String { path("server.pem") }
    var serverKey: String { path("server.key") }
    var clientCert: String { path("client.pem") }
    var clientKey: String { path("client.key") }
    var foreignCAFile: String { path("foreign-ca.pem") }
    var foreignCert: String { path("foreign.pem") }
    var foreignKey: String { path("foreign.key") }

    init() throws {
        directory = try Paths.makeTempDirectory("pki")
        try makeCA("ca", subject: "/CN=swift-etcd test CA")
        try makeCertificate(
            "server", signedBy: "ca", subject: "/CN=swift-etcd",
            extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
        try makeCertificate(
            "client", signedBy: "ca", subject: "/CN=root", extensions: "extendedKeyUsage=clientAuth\n")
        try makeCA("foreign-ca", subject: "/CN=foreign test CA")
        try makeCertificate(
            "foreign", signedBy: "foreign-ca", subject: "/CN=rogue",
            extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
    }

    /// etcdctl's flags for a client of this CA, with this CA's client certificate.
    var ctlArguments: [String] { ["--cacert=\(caFile)", "--cert=\(clientCert)", "--key=\(clientKey)"] }

    /// swift-etcd's and etcd's flags for client mTLS with this CA.
    var clientServerArguments: [String] {
        ["--cert-file", serverCert, "--key-file", serverKey, "--trusted-ca-file", caFile, "--client-cert-auth"]
    }

    /// Flags for peer mTLS with this CA. A rogue (`foreign: true`) trusts
    /// this CA too, so that it accepts the members' certificates and the
    /// members' own check of its certificate is what stops it.
    func peerArguments(foreign: Bool = false) -> [String] {
        [
            "--peer-cert-file", foreign ? foreignCert : serverCert, "--peer-key-file", foreign ? foreignKey : serverKey,
            "--peer-trusted-ca-file", caFile, "--peer-client-cert-auth",
        ]
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func makeCA(_ name: String, subject: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path("\(name).key"), "-out", path("\(name).pem"), "-days", "2", "-subj", subject,
        ])
    }

    private func makeCertificate(_ name: String, signedBy ca: String, subject: String, extensions: String) throws {
        try openssl([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject,
        ])
        let extensionFile = path("\(name).ext")
        try Data(extensions.utf8).write(to: URL(fileURLWithPath: extensionFile))
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
            "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "2", "-extfile", extensionFile,
            "-out", path("\(name).pem"),
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let r = try ChildProcess.run("/usr/bin/openssl", arguments, timeout: .seconds(30))
        guard r.exitCode == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")): \(r.stderr)") }
    }
}
