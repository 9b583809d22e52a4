import Foundation

/// One HTTP exchange made with curl, the client people point at etcd's
/// JSON gateway.
struct HTTPResult: Sendable, CustomStringConvertible {
    var status: Int
    /// Header names lowercased; the last value wins.
    var headers: [String: String]
    var body: String

    var description: String { "\(status) \(headers) \(body)" }
}

enum Curl {
    static let path = "/usr/bin/curl"

    /// `curl -X method url`, with `body` on stdin when given; `options`
    /// are extra curl flags (TLS files, `--http1.0`, headers).
    static func request(
        _ method: String, _ url: String, body: String? = nil, options: [String] = [], timeout: Duration = .seconds(20)
    ) throws -> HTTPResult {
        let directory = try Paths.makeTempDirectory("curl")
        defer { try? FileManager.default.removeItem(at: directory) }
        let headerFile = directory.appendingPathComponent("headers").path
        let bodyFile = directory.appendingPathComponent("body").path
        var arguments = ["-s", "-S", "-X", method, "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}"]
        if body != nil { arguments += ["--data-binary", "@-"] }
        let result = try ChildProcess.run(
            path, arguments + options + [url], stdin: body.map { Data($0.utf8) }, timeout: timeout)
        guard let status = Int(result.stdout), status > 0 else {
            throw TestFailure("curl \(method) \(url) failed: \(result.stderr)")
        }
        return HTTPResult(
            status: status, headers: parseHeaders((try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""),
            body: (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? "")
    }

    /// The header block of the final response (after any `100 Continue`;
    /// curl writes trailers after it, as a block of their own).
    private static func parseHeaders(_ text: String) -> [String: String] {
        let blocks = text.components(separatedBy: "\r\n\r\n").filter { $0.hasPrefix("HTTP/") }
        var headers: [String: String] = [:]
        for line in (blocks.last ?? "").components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }
}

/// Makes two servers' JSON comparable: IDs, sizes and indexes that differ
/// between any two clusters become placeholders, keys are sorted.
enum JSONNormalizer {
    static let identifiers: Set<String> = ["cluster_id", "member_id", "ID", "leader"]
    static let counters: Set<String> = ["dbSize", "dbSizeInUse", "raftIndex", "raftAppliedIndex"]

    static func normalize(_ json: String) -> String {
        guard let data = json.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else { return json }
        let normalized = rewrite(object)
        guard let out = try? JSONSerialization.data(withJSONObject: normalized, options: [.sortedKeys, .fragmentsAllowed])
        else { return json }
        return String(decoding: out, as: UTF8.self)
    }

    private static func rewrite(_ value: Any) -> Any {
        if let array = value as? [Any] { return array.map(rewrite) }
        guard var object = value as? [String: Any] else { return value }
        for (key, inner) in object {
            // An election's `leader` is a message, not an ID.
            if identifiers.contains(key), !(inner is [String: Any]) {
                object[key] = "<id>"
            } else if counters.contains(key) {
                object[key] = "<n>"
            } else if key == "peerURLs" || key == "clientURLs" {
                object[key] = ["<url>"]
            } else if key == "name", object["peerURLs"] != nil {
                object[key] = "<name>"
            } else {
                object[key] = rewrite(inner)
            }
        }
        // A remaining TTL counts down while the request travels.
        if object["grantedTTL"] != nil, object["TTL"] != nil { object["TTL"] = "<ttl>" }
        return object
    }
}

/// A curl left running (a watch), whose output accumulates; stopping it
/// is a client going away mid-response.
final class CurlStream: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var out = Data()

    init(_ method: String, _ url: String, body: String, options: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: Curl.path)
        process.arguments = ["-s", "-N", "-X", method, "--data-binary", body] + options + [url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.out.append(data) }
        }
        try process.run()
    }

    var output: String { lock.withLock { String(decoding: out, as: UTF8.self) } }

    /// Waits (bounded) until the output holds `count` lines.
    @discardableResult
    func waitForLines(_ count: Int, timeout: Duration = .seconds(10)) -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let lines = output.split(separator: "\n").map(String.init)
            if lines.count >= count { return lines }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return output.split(separator: "\n").map(String.init)
    }

    /// Kills curl: the connection drops without a goodbye.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
