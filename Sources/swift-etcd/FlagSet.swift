import Foundation

/// Command-line flags parsed the way Go's `flag` package (and so etcd) does:
/// `-name value`, `--name value`, `-name=value`, booleans without a value,
/// `--` ends the flags. Every flag can also come from `ETCD_<NAME>` in the
/// environment, with the flag winning (and a conflict refused, as etcd).
struct FlagSet {
    struct Flag {
        var name: String
        var usage: String
        var isBool: Bool
        /// Applies a textual value; returns an error text on failure.
        var set: (String) -> String?
    }

    enum Failure: Error, Equatable {
        /// Bad usage: etcd prints the reason and usage, exit code 2.
        case usage(String)
        /// A fatal configuration error: exit code 1.
        case fatal(String)
    }

    private(set) var flags: [String: Flag] = [:]
    private(set) var order: [String] = []
    /// Names set on the command line (not from the environment).
    private(set) var setOnCommandLine: Set<String> = []

    mutating func add(_ name: String, usage: String, isBool: Bool = false, set: @escaping (String) -> String?) {
        flags[name] = Flag(name: name, usage: usage, isBool: isBool, set: set)
        order.append(name)
    }

    /// The environment variable etcd reads for a flag: `ETCD_` + upper
    /// snake case (`listen-client-urls` → `ETCD_LISTEN_CLIENT_URLS`).
    static func environmentName(for flag: String) -> String {
        "ETCD_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// Parses arguments; returns warnings to log (unknown `ETCD_*` variables).
    mutating func parse(arguments: [String], environment: [String: String]) throws(Failure) -> [String] {
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if arg == "--" { break }
            guard arg.hasPrefix("-"), arg.count > 1 else {
                throw .fatal("error verifying flags, '\(arg)' is not a valid flag. See 'etcd --help'.")
            }
            var body = Substring(arg.dropFirst(arg.hasPrefix("--") ? 2 : 1))
            guard !body.isEmpty, !body.hasPrefix("-"), !body.hasPrefix("=") else {
                throw .usage("bad flag syntax: \(arg)")
            }
            var value: String?
            if let eq = body.firstIndex(of: "=") {
                value = String(body[body.index(after: eq)...])
                body = body[..<eq]
            }
            let name = String(body)
            if name == "h" || name == "help" { throw .usage("") }
            guard let flag = flags[name] else { throw .usage("flag provided but not defined: -\(name)") }
            if flag.isBool {
                if let reason = flag.set(value ?? "true") {
                    throw .usage("invalid boolean value \"\(value ?? "")\" for -\(name): \(reason)")
                }
            } else {
                if value == nil {
                    guard i < arguments.count else { throw .usage("flag needs an argument: -\(name)") }
                    value = arguments[i]
                    i += 1
                }
                if let reason = flag.set(value ?? "") {
                    throw .usage("invalid value \"\(value ?? "")\" for flag -\(name): \(reason)")
                }
            }
            setOnCommandLine.insert(name)
        }
        if i < arguments.count {
            throw .fatal("error verifying flags, '\(arguments[i])' is not a valid flag. See 'etcd --help'.")
        }
        return try applyEnvironment(environment)
    }

    private func applyEnvironment(_ environment: [String: String]) throws(Failure) -> [String] {
        var known = Set<String>()
        for name in order {
            let key = Self.environmentName(for: name)
            known.insert(key)
            guard let value = environment[key] else { continue }
            if setOnCommandLine.contains(name) {
                throw .fatal(
                    "conflicting environment variable \"\(key)\" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)"
                )
            }
            if let flag = flags[name], let reason = flag.set(value) {
                throw .fatal("invalid value \"\(value)\" for \(key): \(reason)")
            }
        }
        // Variables etcd itself reads but that are not server flags.
        let ignored: Set<String> = ["ETCD_UNSUPPORTED_ARCH"]
        return environment.keys.sorted()
            .filter { $0.hasPrefix("ETCD_") && !known.contains($0) && !ignored.contains($0) }
            .map { "unrecognized environment variable \($0)=\(environment[$0] ?? "")" }
    }
}
