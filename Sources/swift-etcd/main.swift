import CoreMetrics
import EtcdAPI
import EtcdServer
import Foundation
import Logging
import Prometheus

/// swift-etcd: parse etcd's flags, set up logging, start the member; or,
/// as `swift-etcd snapshot restore|status`, etcd's offline snapshot tools.
if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "snapshot" {
    exit(SnapshotCommand.run(Array(CommandLine.arguments.dropFirst(2))))
}

let flags = EtcdFlags()
let warnings: [String]
do {
    warnings = try flags.flagSet.parse(
        arguments: Array(CommandLine.arguments.dropFirst()),
        environment: ProcessInfo.processInfo.environment)
} catch .usage(let reason) {
    if !reason.isEmpty { FileHandle.standardError.write(Data((reason + "\n").utf8)) }
    FileHandle.standardError.write(Data((flags.usage + "\n").utf8))
    exit(reason.isEmpty ? 0 : 2)
} catch .fatal(let reason) {
    let handler = JSONLogHandler(label: "swift-etcd", level: .info)
    Logger(label: "swift-etcd", factory: { _ in handler }).critical("\(reason)")
    exit(1)
}

if flags.printVersion {
    print("swift-etcd Version: \(SwiftEtcdVersion.current)")
    print("etcd API Version: \(EtcdServer.apiVersion)")
    exit(0)
}

let level = flags.logLevel
LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
let logger = Logger(label: "swift-etcd")
for warning in warnings { logger.warning("\(warning)") }
// Before the member opens: its metrics are made from this factory.
let metricsRegistry = PrometheusCollectorRegistry()
var metricsFactory = PrometheusMetricsFactory(registry: metricsRegistry)
metricsFactory.durationHistogramBuckets = ServerMetrics.histogramBuckets
MetricsSystem.bootstrap(metricsFactory)
if let reason = flags.validate() {
    logger.critical("\(reason)")
    exit(1)
}

// etcd checks TLS (and makes auto-TLS certificates) before it opens the
// data directory; so do we, with its error texts.
let config: ServerConfig
do {
    config = try TLSSetup.prepare(flags.config, logger: logger)
} catch {
    logger.critical("failed to start etcd", metadata: ["error": "\(error)"])
    exit(1)
}
logger.info(
    "starting swift-etcd",
    metadata: [
        "version": "\(SwiftEtcdVersion.current)",
        "name": "\(config.name)",
        "data-dir": "\(config.dataDir)",
        "listen-client-urls": "\(config.listenClientURLs.map(\.description).joined(separator: ","))",
        "advertise-client-urls": "\(config.advertiseClientURLs.map(\.description).joined(separator: ","))",
    ])

let server: EtcdServer
do {
    server = try await EtcdServer.open(config: config, logger: logger)
} catch {
    logger.critical(
        "cannot open the data directory",
        metadata: [
            "data-dir": "\(config.dataDir)", "error": "\(error)",
            "hint": "check that --data-dir is writable and belongs to this member; a corrupt member can be restored from a snapshot or removed from the cluster and re-added",
        ])
    exit(1)
}
do {
    try await ClientServer(server: server, logger: logger, metricsRegistry: metricsRegistry).run()
} catch let error as MemberRemovedError {
    logger.warning(
        "stopping: \(error)",
        metadata: ["hint": "to rejoin, add the member again and start it with an empty --data-dir"])
    exit(0)
} catch {
    logger.critical(
        "failed to serve client requests",
        metadata: ["error": "\(error)", "hint": "check that the client URLs are free and reachable"])
    exit(1)
}
