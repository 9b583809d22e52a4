import EtcdServer
import Foundation
import Logging

/// `swift-etcd snapshot restore FILE [flags]` and `swift-etcd snapshot
/// status FILE [-w simple|table|json]`: etcd's offline snapshot commands
/// (`etcdctl snapshot restore/status` in 3.4, `etcdutl` in 3.5), with
/// their flags, defaults, outputs, error texts (`Error: …` on stderr) and
/// exit codes (1 for a failure, 128 for bad arguments).
///
/// `restore` writes a swift-etcd data directory from a snapshot saved
/// from swift-etcd or from etcd 3.4 (`SnapshotRestore`); `status` reads
/// any bbolt snapshot (`SnapshotStatus`).
enum SnapshotCommand {
    static let usage = """
        Usage:
          swift-etcd snapshot restore <filename> [options]
            Restores a member's data directory from a snapshot file (from swift-etcd or etcd 3.4).
              --data-dir                      Path to the data directory (default: <name>.etcd)
              --name                          Human-readable name for this member (default "default")
              --initial-cluster               Initial cluster configuration for restore bootstrap (default "default=http://localhost:2380")
              --initial-cluster-token         Initial cluster token for the etcd cluster during restore bootstrap (default "etcd-cluster")
              --initial-advertise-peer-urls   List of this member's peer URLs to advertise to the rest of the cluster (default "http://localhost:2380")
              --skip-hash-check               Ignore snapshot integrity hash value (required if copied from data directory)
          swift-etcd snapshot status <filename> [-w simple|table|json]
            Gets backend snapshot status of a given file.
        """

    /// Exit codes as etcdctl's.
    static let exitError: Int32 = 1
    static let exitBadArgs: Int32 = 128

    /// Runs the arguments after `snapshot`; returns the exit code.
    static func run(_ arguments: [String]) -> Int32 {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: .info) }
        guard let sub = arguments.first else { return fail(exitBadArgs, "snapshot needs a subcommand (restore or status)\n" + usage) }
        let rest = Array(arguments.dropFirst())
        switch sub {
        case "restore": return restore(rest)
        case "status": return status(rest)
        case "-h", "--help", "help":
            print(usage)
            return 0
        default: return fail(exitBadArgs, "unknown snapshot subcommand \"\(sub)\"\n" + usage)
        }
    }

    private static func restore(_ arguments: [String]) -> Int32 {
        var config = ServerConfig()
        config.dataDir = ""
        var dataDir = ""
        var skipHashCheck = false
        var initialCluster = "default=http://localhost:2380"
        var flags = FlagSet()
        flags.add("data-dir", usage: "") { v in
            dataDir = v
            return nil
        }
        flags.add("name", usage: "") { v in
            config.name = v
            return nil
        }
        flags.add("initial-cluster", usage: "") { v in
            initialCluster = v
            return nil
        }
        flags.add("initial-cluster-token", usage: "") { v in
            config.initialClusterToken = v
            return nil
        }
        flags.add("initial-advertise-peer-urls", usage: "") { v in
            EtcdFlags.parseURLs(v).map { config.initialAdvertisePeerURLs = $0 }.error
        }
        flags.add("skip-hash-check", usage: "", isBool: true) { v in
            guard let b = Bool(v) else { return "parse error" }
            skipHashCheck = b
            return nil
        }
        let files: [String]
        do {
            files = try parse(arguments, flags: &flags, boolFlags: ["skip-hash-check"])
        } catch {
            return fail(exitBadArgs, error.description)
        }
        guard files.count == 1 else { return fail(exitBadArgs, "snapshot restore requires exactly one argument") }
        switch EtcdFlags.parseInitialCluster(initialCluster) {
        case .success(let members): config.initialCluster = members
        case .failure(let e): return fail(exitError, e.description)
        }
        config.dataDir = dataDir.isEmpty ? config.name + ".etcd" : dataDir

        let logger = Logger(label: "swift-etcd")
        logger.info(
            "restoring snapshot",
            metadata: [
                "path": "\(files[0])", "data-dir": "\(config.dataDir)",
                "wal-dir": "\(config.dataDir)/member/wal", "snap-dir": "\(config.dataDir)/member/snap",
            ])
        do {
            let summary = try SnapshotRestore.restore(
                snapshotPath: files[0], config: config, skipHashCheck: skipHashCheck)
            logger.info(
                "restored snapshot",
                metadata: [
                    "path": "\(files[0])", "data-dir": "\(summary.dataDir)",
                    "member-id": "\(String(summary.memberID, radix: 16))",
                    "cluster-id": "\(String(summary.clusterID, radix: 16))", "revision": "\(summary.revision)",
                    "versions": "\(summary.versions)", "leases": "\(summary.leases)", "users": "\(summary.users)",
                    "roles": "\(summary.roles)", "hash-checked": "\(summary.hashChecked)",
                ])
            if !summary.usersWithoutPassword.isEmpty {
                logger.warning(
                    "users keep their roles but not their passwords (the snapshot holds password hashes in an unknown form); set them again with etcdctl user passwd",
                    metadata: ["users": "\(summary.usersWithoutPassword.joined(separator: ","))"])
            }
            return 0
        } catch {
            return fail(exitError, "\(error)")
        }
    }

    private static func status(_ arguments: [String]) -> Int32 {
        var format = "simple"
        var flags = FlagSet()
        for name in ["write-out", "w"] {
            flags.add(name, usage: "") { v in
                guard ["simple", "table", "json"].contains(v) else { return "unknown output format" }
                format = v
                return nil
            }
        }
        let files: [String]
        do {
            files = try parse(arguments, flags: &flags, boolFlags: [])
        } catch {
            return fail(exitBadArgs, error.description)
        }
        guard files.count == 1 else { return fail(exitBadArgs, "snapshot status requires exactly one argument") }
        do {
            let status = try SnapshotStatus(path: files[0])
            switch format {
            case "json": print(status.json)
            case "table": print(status.table)
            default: print(status.simple)
            }
            return 0
        } catch {
            return fail(exitError, "\(error)")
        }
    }

    /// Splits arguments into flags (parsed by `flags`, Go style) and the
    /// positional file names, which may come before, between or after the
    /// flags, as cobra allows. No `ETCD_*` variables are read.
    private static func parse(
        _ arguments: [String], flags: inout FlagSet, boolFlags: Set<String>
    ) throws(ParseFailure) -> [String] {
        var flagArguments: [String] = []
        var files: [String] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if arg.hasPrefix("-") && arg.count > 1 {
                flagArguments.append(arg)
                let name = arg.drop(while: { $0 == "-" })
                if !name.contains("=") && !boolFlags.contains(String(name)) && i < arguments.count {
                    flagArguments.append(arguments[i])
                    i += 1
                }
            } else {
                files.append(arg)
            }
        }
        do {
            _ = try flags.parse(arguments: flagArguments, environment: [:])
        } catch {
            switch error {
            case .usage(let reason): throw ParseFailure(description: reason.isEmpty ? usage : reason)
            case .fatal(let reason): throw ParseFailure(description: reason)
            }
        }
        return files
    }

    private struct ParseFailure: Error {
        var description: String
    }

    private static func fail(_ code: Int32, _ message: String) -> Int32 {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        return code
    }
}
