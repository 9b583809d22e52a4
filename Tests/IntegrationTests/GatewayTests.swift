import Foundation
import Testing

@testable import EtcdAPI

/// The HTTP side of the client port, against etcd 3.4: the JSON gateway
/// (`/v3/…`), `/health`, `/version` and `/metrics`, asked with curl on the
/// same port as gRPC, with the same requests, and compared after replacing
/// IDs and sizes that differ between any two clusters.
@Suite(.serialized)
struct GatewayTests {
    /// A request of the comparison script: method, path, body.
    struct Step: CustomStringConvertible {
        var method = "POST"
        var path: String
        var body: String?
        var description: String { "\(method) \(path) \(body ?? "")" }
    }

    static let script: [Step] = [
        Step(path: "/v3/kv/put", body: #"{"key":"Zm9v","value":"YmFy"}"#),
        Step(path: "/v3/kv/put", body: #"{"key":"Zm9v","value":"YmF6","prev_kv":true}"#),
        Step(path: "/v3/kv/put", body: #"{"key":"Zm9vMg==","value":"eA==","lease":"0"}"#),
        Step(path: "/v3/kv/range", body: #"{"key":"Zm9v"}"#),
        Step(path: "/v3/kv/range", body: #"{"key":"Zm9v","range_end":"Zm9w","keys_only":true,"sort_order":"DESCEND"}"#),
        Step(path: "/v3/kv/range", body: #"{"key":"AA==","range_end":"AA==","count_only":true}"#),
        Step(path: "/v3beta/kv/range", body: #"{"key":"Zm9v","serializable":true,"unknown_field":1}"#),
        Step(path: "/v3/kv/range", body: #"{"key":"Zm9v"} trailing data is ignored"#),
        Step(path: "/v3/kv/range", body: #"{"key":"Zm9v","revision":"100"}"#),
        Step(path: "/v3/kv/range", body: ""),
        Step(path: "/v3/kv/deleterange", body: #"{"key":"Zm9v","prev_kv":true}"#),
        Step(path: "/v3/kv/deleterange", body: #"{"key":"Zm9v"}"#),
        Step(
            path: "/v3/kv/txn",
            body: #"{"compare":[{"key":"Zm9v","target":"VERSION","result":"EQUAL","version":0}],"#
                + #""success":[{"request_put":{"key":"Zm9v","value":"MQ=="}}],"failure":[{"request_range":{"key":"Zm9v"}}]}"#),
        Step(
            path: "/v3/kv/txn",
            body: #"{"compare":[{"key":"Zm9v","target":"VERSION","result":"EQUAL","version":0}],"#
                + #""success":[{"request_put":{"key":"Zm9v","value":"MQ=="}}],"failure":[{"request_range":{"key":"Zm9v"}}]}"#),
        Step(path: "/v3/kv/compaction", body: #"{"revision":3}"#),
        Step(path: "/v3/kv/compaction", body: #"{"revision":3}"#),
        Step(path: "/v3/kv/range", body: #"{"key":"Zm9v","revision":2}"#),
        Step(path: "/v3/lease/grant", body: #"{"TTL":30,"ID":1234}"#),
        Step(path: "/v3/lease/grant", body: #"{"TTL":30,"ID":1234}"#),
        Step(path: "/v3/lease/leases", body: "{}"),
        Step(path: "/v3/kv/put", body: #"{"key":"bGs=","value":"dg==","lease":1234}"#),
        Step(path: "/v3/lease/timetolive", body: #"{"ID":1234,"keys":true}"#),
        Step(path: "/v3/kv/lease/timetolive", body: #"{"ID":99}"#),
        Step(path: "/v3/lease/revoke", body: #"{"ID":1234}"#),
        Step(path: "/v3/kv/lease/revoke", body: #"{"ID":1234}"#),
        Step(path: "/v3/kv/range", body: #"{"key":"bGs="}"#),
        Step(path: "/v3/cluster/member/list", body: "{}"),
        Step(path: "/v3/maintenance/status", body: "{}"),
        Step(path: "/v3/maintenance/alarm", body: "{}"),
        Step(path: "/v3/auth/authenticate", body: #"{"name":"root","password":"secret"}"#),
        Step(path: "/v3/kv/nothing", body: "{}"),
        Step(path: "/nothing", body: "{}"),
        Step(method: "GET", path: "/v3/kv/range"),
        Step(method: "PUT", path: "/v3/kv/put", body: "{}"),
        Step(method: "OPTIONS", path: "/v3/kv/range"),
        Step(method: "GET", path: "/version"),
        Step(method: "POST", path: "/version"),
        Step(method: "GET", path: "/health"),
        Step(method: "DELETE", path: "/health"),
    ]

    @Test("every gateway route answers as etcd's: status, content type, CORS headers and normalized JSON")
    func routes() throws {
        try requireOracle()
        let etcd = try EtcdNode(kind: .etcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        defer { etcd.stop() }
        let swift = try EtcdNode(kind: .swiftEtcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        defer { swift.stop() }
        for step in Self.script {
            let expected = try Curl.request(step.method, "http://\(etcd.endpoint)\(step.path)", body: step.body)
            let actual = try Curl.request(step.method, "http://\(swift.endpoint)\(step.path)", body: step.body)
            #expect(actual.status == expected.status, "\(step)")
            #expect(actual.headers["content-type"] == expected.headers["content-type"], "\(step)")
            #expect(actual.headers["allow"] == expected.headers["allow"], "\(step)")
            #expect(actual.headers["access-control-allow-origin"] == "*", "\(step)")
            #expect(
                JSONNormalizer.normalize(actual.body) == JSONNormalizer.normalize(expected.body),
                "\(step)\netcd:       \(expected.body)\nswift-etcd: \(actual.body)")
        }
    }

    @Test("a watch streams newline-delimited results, from the past too, and a compacted one is canceled")
    func watch() throws {
        try requireOracle()
        let (etcd, swift) = try Self.startBoth()
        defer {
            etcd.stop()
            swift.stop()
        }
        func run(_ node: EtcdNode) throws -> [String] {
            let url = "http://\(node.endpoint)"
            _ = try Curl.request("POST", url + "/v3/kv/put", body: #"{"key":"Zm9v","value":"YmFy"}"#)
            let live = try CurlStream("POST", url + "/v3/watch", body: #"{"create_request":{"key":"Zm9v","prev_kv":true}}"#)
            defer { live.stop() }
            live.waitForLines(1)
            _ = try Curl.request("POST", url + "/v3/kv/put", body: #"{"key":"Zm9v","value":"YmF6"}"#)
            _ = try Curl.request("POST", url + "/v3/kv/deleterange", body: #"{"key":"Zm9v"}"#)
            var lines = live.waitForLines(3)
            // From history: every version since revision 2, in one response.
            let past = try CurlStream(
                "POST", url + "/v3/watch", body: #"{"create_request":{"key":"Zm9v","start_revision":2}}"#)
            defer { past.stop() }
            lines += past.waitForLines(2)
            _ = try Curl.request("POST", url + "/v3/kv/compaction", body: #"{"revision":4}"#)
            let compacted = try CurlStream(
                "POST", url + "/v3/watch", body: #"{"create_request":{"key":"Zm9v","start_revision":2}}"#)
            defer { compacted.stop() }
            lines += compacted.waitForLines(2)
            return lines.map(JSONNormalizer.normalize)
        }
        let expected = try run(etcd)
        let actual = try run(swift)
        #expect(expected.count == 7, "\(expected)")
        #expect(actual == expected)
    }

    @Test("lease keep-alive streams one result per request and ends with the body")
    func leaseKeepAlive() throws {
        try requireOracle()
        let (etcd, swift) = try Self.startBoth()
        defer {
            etcd.stop()
            swift.stop()
        }
        func run(_ node: EtcdNode) throws -> HTTPResult {
            let url = "http://\(node.endpoint)"
            _ = try Curl.request("POST", url + "/v3/lease/grant", body: #"{"TTL":60,"ID":777}"#)
            return try Curl.request("POST", url + "/v3/lease/keepalive", body: #"{"ID":777} {"ID":778}"#)
        }
        let expected = try run(etcd)
        let actual = try run(swift)
        #expect(actual.status == 200)
        let lines = { (r: HTTPResult) in r.body.split(separator: "\n").map { JSONNormalizer.normalize(String($0)) } }
        #expect(lines(actual) == lines(expected), "etcd: \(expected.body)\nswift-etcd: \(actual.body)")
        #expect(lines(actual).count == 2)
    }

    @Test("Lock and Election routes answer as etcd's; Observe streams one result per leader value")
    func lockAndElection() throws {
        try requireOracle()
        let (etcd, swift) = try Self.startBoth()
        defer {
            etcd.stop()
            swift.stop()
        }
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        func run(_ node: EtcdNode) throws -> [String] {
            let url = "http://\(node.endpoint)"
            func post(_ path: String, _ body: String) throws -> String {
                let result = try Curl.request("POST", url + path, body: body)
                return "\(path) \(result.status) \(JSONNormalizer.normalize(result.body))"
            }
            var lines: [String] = []
            lines.append(try post("/v3/lease/grant", #"{"TTL":60,"ID":1000}"#))
            lines.append(try post("/v3/lock/lock", #"{"name":"\#(base64("lk"))","lease":1000}"#))
            lines.append(try post("/v3/lock/unlock", #"{"key":"\#(base64("lk/3e8"))"}"#))
            lines.append(try post("/v3/lock/lock", #"{"name":"\#(base64("lk"))","lease":5}"#))
            lines.append(try post("/v3/election/leader", #"{"name":"\#(base64("el"))"}"#))
            let campaign = try Curl.request(
                "POST", url + "/v3/election/campaign", body: #"{"name":"\#(base64("el"))","lease":1000,"value":"\#(base64("v1"))"}"#)
            lines.append("campaign \(campaign.status) \(JSONNormalizer.normalize(campaign.body))")
            let response = try JSONSerialization.jsonObject(with: Data(campaign.body.utf8)) as? [String: Any]
            let leader = String(
                decoding: try JSONSerialization.data(withJSONObject: response?["leader"] ?? [:]), as: UTF8.self)
            let observe = try CurlStream("POST", url + "/v3/election/observe", body: #"{"name":"\#(base64("el"))"}"#)
            defer { observe.stop() }
            observe.waitForLines(1)
            lines.append(try post("/v3/election/proclaim", #"{"leader":\#(leader),"value":"\#(base64("v2"))"}"#))
            lines += observe.waitForLines(2).map(JSONNormalizer.normalize)
            lines.append(try post("/v3/election/leader", #"{"name":"\#(base64("el"))"}"#))
            lines.append(try post("/v3/election/resign", #"{"leader":\#(leader)}"#))
            lines.append(try post("/v3/election/proclaim", #"{"leader":\#(leader),"value":"\#(base64("v3"))"}"#))
            lines.append(try post("/v3/election/resign", "{}"))
            return lines
        }
        let expected = try run(etcd)
        let actual = try run(swift)
        #expect(expected.count == 13, "\(expected)")
        #expect(actual == expected)
    }

    @Test("a client leaving a waiting Lock or an Observe leaves no waiter key and no watcher behind, as with etcd")
    func lockClientLeaves() throws {
        try requireOracle()
        let (etcd, swift) = try Self.startBoth()
        defer {
            etcd.stop()
            swift.stop()
        }
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        for node in [etcd, swift] {
            let url = "http://\(node.endpoint)"
            _ = try Curl.request("POST", url + "/v3/lease/grant", body: #"{"TTL":60,"ID":1000}"#)
            _ = try Curl.request("POST", url + "/v3/lease/grant", body: #"{"TTL":60,"ID":2000}"#)
            _ = try Curl.request("POST", url + "/v3/lock/lock", body: #"{"name":"\#(base64("lk"))","lease":1000}"#)
            // curl gives up after a second (and fails: no status).
            _ = try? Curl.request(
                "POST", url + "/v3/lock/lock", body: #"{"name":"\#(base64("lk"))","lease":2000}"#, options: ["--max-time", "1"])
            let observe = try CurlStream("POST", url + "/v3/election/observe", body: #"{"name":"\#(base64("el"))"}"#)
            Thread.sleep(forTimeInterval: 0.3)
            observe.stop()
            #expect(
                try Self.waitForGauge("etcd_debugging_mvcc_watcher_total", at: url, toBe: 0), "\(node.kind) kept watchers")
            let keys = try node.ctl(["get", "lk/", "--prefix", "--keys-only"])
            #expect(keys.stdout == "lk/3e8\n\n", "\(node.kind) kept the waiter's key")
        }
    }

    @Test("bad input gets etcd's status and error body; a client leaving mid-watch leaves no watcher behind")
    func badInput() throws {
        try requireOracle()
        let (etcd, swift) = try Self.startBoth()
        defer {
            etcd.stop()
            swift.stop()
        }
        let tooLarge = #"{"key":"Ymln","value":""# + String(repeating: "eHh4", count: 1_000_000) + #""}"#
        let cases: [(Step, comparesMessage: Bool)] = [
            (Step(path: "/v3/kv/range", body: "{bad"), false),
            (Step(path: "/v3/kv/range", body: #"{"key":"!!"}"#), false),
            (Step(path: "/v3/kv/put", body: tooLarge), true),
            (Step(path: "/v3/watch", body: "{bad"), false),
            (Step(method: "GET", path: "/v3/watch"), true),
        ]
        for (step, comparesMessage) in cases {
            let expected = try Curl.request(step.method, "http://\(etcd.endpoint)\(step.path)", body: step.body)
            let actual = try Curl.request(step.method, "http://\(swift.endpoint)\(step.path)", body: step.body)
            #expect(actual.status == expected.status, "\(step.path): \(expected.body) / \(actual.body)")
            if comparesMessage {
                #expect(actual.body == expected.body, "\(step.path)")
            } else {
                // Go's JSON decoder and SwiftProtobuf word parse errors
                // differently; the shape and the code are etcd's.
                let fields = { (r: HTTPResult) in
                    (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])?["code"] as? Int
                }
                #expect(fields(actual) != nil && fields(actual) == fields(expected), "\(step.path): \(actual.body)")
            }
        }
        // A body far over the limit is refused without being read.
        let huge = String(repeating: "x", count: 12_000_000)
        let refused = try Curl.request("POST", "http://\(swift.endpoint)/v3/kv/put", body: huge)
        #expect(refused.status == 429)
        #expect(refused.body.contains("grpc: received message larger than max"))

        // Not HTTP at all: refused, and the server goes on.
        #expect(try RawHTTP.exchange(port: swift.clientPort, "GARBAGE\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        // Pipelined requests on one connection are answered in order.
        let pipelined = try RawHTTP.exchange(
            port: swift.clientPort,
            "GET /version HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(pipelined.contains("\"etcdserver\"") && pipelined.contains("{\"health\":\"true\"}"), "\(pipelined)")

        for node in [etcd, swift] {
            let url = "http://\(node.endpoint)"
            let watch = try CurlStream("POST", url + "/v3/watch", body: #"{"create_request":{"key":"YQ=="}}"#)
            watch.waitForLines(1)
            #expect(try Self.waitForGauge("etcd_debugging_mvcc_watcher_total", at: url, toBe: 1), "\(node.kind)")
            watch.stop()
            #expect(
                try Self.waitForGauge("etcd_debugging_mvcc_watcher_total", at: url, toBe: 0),
                "\(node.kind) kept the watcher")
        }
        #expect(try Curl.request("GET", "http://\(swift.endpoint)/health").status == 200)
    }

    @Test("/health is false with etcd's body while an alarm is raised, unless excluded")
    func healthWithAlarm() throws {
        try requireOracle()
        for kind in [EtcdNode.Kind.etcd, .swiftEtcd] {
            let node = try EtcdNode(
                kind: kind, clientPort: try Ports.free(), peerPort: try Ports.free(),
                arguments: ["--quota-backend-bytes", "40000"])
            defer { node.stop() }
            let value = String(repeating: "a", count: 2000)
            for i in 0..<100 where try node.ctl(["put", "k\(i)", value]).exitCode == 0 {}
            let health = try Curl.request("GET", "http://\(node.endpoint)/health")
            #expect(health.status == 503, "\(kind)")
            #expect(health.body == "{\"health\":\"false\"}\n", "\(kind)")
            #expect(health.headers["content-type"] == "text/plain; charset=utf-8", "\(kind)")
            let excluded = try Curl.request("GET", "http://\(node.endpoint)/health?exclude=NOSPACE")
            #expect(excluded.status == 200, "\(kind)")
            #expect(excluded.body == "{\"health\":\"true\"}", "\(kind)")
        }
    }

    @Test("/health turns false when the member loses its quorum; members report peer round trips", arguments: [
        EtcdNode.Kind.etcd, .swiftEtcd,
    ])
    func healthWithoutQuorum(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let cluster = try TestCluster(kind: kind, size: 3)
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "k", "v"])
        for name in ["node1", "node2", "node3"] {
            #expect(try Curl.request("GET", "http://\(cluster.endpoint(name))/health").status == 200, "\(name)")
        }
        // Heartbeats (swift-etcd, on the leader) or probes (etcd) fill the histogram.
        let deadline = ContinuousClock.now + .seconds(kind == .swiftEtcd ? 10 : 0)
        var roundTrips = false
        while !roundTrips, ContinuousClock.now < deadline {
            roundTrips = try ["node1", "node2", "node3"].contains { name in
                try Curl.request("GET", "http://\(cluster.endpoint(name))/metrics").body
                    .contains("etcd_network_peer_round_trip_time_seconds_count{To=\"")
            }
            if !roundTrips { Thread.sleep(forTimeInterval: 0.5) }
        }
        // etcd observes its probes every 30 s; swift-etcd each heartbeat.
        if kind == .swiftEtcd { #expect(roundTrips, "no etcd_network_peer_round_trip_time_seconds") }
        cluster.kill("node2")
        cluster.kill("node3")
        var last = HTTPResult(status: 0, headers: [:], body: "")
        let unhealthyBy = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < unhealthyBy {
            last = try Curl.request("GET", "http://\(cluster.endpoint("node1"))/health")
            if last.status == 503 { break }
            Thread.sleep(forTimeInterval: 0.3)
        }
        #expect(last.status == 503, "\(kind)")
        #expect(last.body == "{\"health\":\"false\"}\n", "\(kind)")
    }

    @Test("Maintenance.Status lists \"etcdserver: no leader\" in errors once a member has lost its quorum, as etcd's does")
    func statusWithoutLeader() throws {
        try requireOracle()
        /// The `errors` of `/v3/maintenance/status` on node1, before and
        /// after node2 and node3 are killed (polled: the lone member needs
        /// an election timeout to notice).
        func run(_ kind: EtcdNode.Kind) throws -> (before: [String], after: [String]) {
            let cluster = try TestCluster(kind: kind, size: 3)
            defer { cluster.stop() }
            _ = try cluster.ctlUntilSuccess(["put", "k", "v"])
            let url = "http://\(cluster.endpoint("node1"))/v3/maintenance/status"
            let before = try Self.statusErrors(try Curl.request("POST", url, body: "{}"))
            cluster.kill("node2")
            cluster.kill("node3")
            var after: [String] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while after.isEmpty, ContinuousClock.now < deadline {
                after = try Self.statusErrors(try Curl.request("POST", url, body: "{}"))
                if after.isEmpty { Thread.sleep(forTimeInterval: 0.3) }
            }
            return (before, after)
        }
        let expected = try run(.etcd)
        let actual = try run(.swiftEtcd)
        #expect(expected.before.isEmpty && expected.after == ["etcdserver: no leader"], "etcd: \(expected)")
        #expect(actual.before == expected.before, "swift-etcd: \(actual)")
        #expect(actual.after == expected.after, "swift-etcd: \(actual)")
    }

    /// The `errors` array of a gateway Status answer (absent when empty).
    static func statusErrors(_ result: HTTPResult) throws -> [String] {
        #expect(result.status == 200, "\(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.body.utf8)) as? [String: Any]
        return object?["errors"] as? [String] ?? []
    }

    @Test("/metrics has etcd's names; the fsync histogram counts writes; --listen-metrics-urls serves /metrics and /health")
    func metrics() throws {
        try requireOracle()
        let metricsPort = try Ports.free()
        let swift = try EtcdNode(
            kind: .swiftEtcd, clientPort: try Ports.free(), peerPort: try Ports.free(),
            arguments: ["--listen-metrics-urls", "http://127.0.0.1:\(metricsPort)"])
        defer { swift.stop() }
        let etcd = try EtcdNode(kind: .etcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        defer { etcd.stop() }
        let names = [
            "etcd_server_has_leader", "etcd_server_leader_changes_seen_total", "etcd_server_proposals_committed_total",
            "etcd_server_proposals_applied_total", "etcd_server_proposals_pending", "etcd_server_proposals_failed_total",
            "etcd_mvcc_db_total_size_in_bytes", "etcd_debugging_mvcc_keys_total",
            "etcd_disk_wal_fsync_duration_seconds_bucket", "etcd_disk_backend_commit_duration_seconds_bucket",
            "grpc_server_handled_total",
        ]
        _ = try swift.ctl(["put", "a", "1"])
        _ = try etcd.ctl(["put", "a", "1"])
        let ours = try Curl.request("GET", "http://\(swift.endpoint)/metrics")
        let theirs = try Curl.request("GET", "http://\(etcd.endpoint)/metrics")
        #expect(ours.headers["content-type"] == theirs.headers["content-type"])
        for name in names {
            #expect(theirs.body.contains("\n\(name)"), "etcd has no \(name)")
            #expect(ours.body.contains("\n\(name)"), "swift-etcd has no \(name)")
        }
        #expect(try Self.gauge("etcd_server_has_leader", at: "http://\(swift.endpoint)") == 1)
        #expect(ours.body.contains(#"grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"}"#))

        let fsyncs = { try Self.gauge("etcd_disk_wal_fsync_duration_seconds_count", at: "http://\(swift.endpoint)") ?? 0 }
        let before = try fsyncs()
        for i in 0..<5 { _ = try swift.ctl(["put", "k\(i)", "v"]) }
        #expect(try fsyncs() >= before + 5)
        #expect(try Self.waitForGauge("etcd_debugging_mvcc_keys_total", at: "http://\(swift.endpoint)", toBe: 6))

        let metricsURL = "http://127.0.0.1:\(metricsPort)"
        let separate = try Curl.request("GET", metricsURL + "/metrics")
        #expect(separate.status == 200 && separate.body.contains("etcd_server_has_leader"))
        #expect(separate.headers["access-control-allow-origin"] == nil)
        #expect(try Curl.request("GET", metricsURL + "/health").body == "{\"health\":\"true\"}")
        #expect(try Curl.request("GET", metricsURL + "/version").status == 404)
    }

    @Test("an https client URL serves gRPC and HTTP/1.1 on one port, with client certificates", arguments: [
        EtcdNode.Kind.etcd, .swiftEtcd,
    ])
    func tls(kind: EtcdNode.Kind) throws {
        try requireOracle()
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try TestCluster(
            kind: kind, size: 1, extraArguments: pki.clientServerArguments, clientScheme: "https",
            ctlArguments: pki.ctlArguments)
        defer { cluster.stop() }
        _ = try cluster.ctlUntilSuccess(["put", "foo", "bar"])
        let url = cluster.endpoint("node1")
        let certificates = ["--cacert", pki.caFile, "--cert", pki.clientCert, "--key", pki.clientKey]
        let health = try Curl.request("GET", url + "/health", options: certificates)
        #expect(health.status == 200 && health.body == "{\"health\":\"true\"}", "\(kind): \(health)")
        let range = try Curl.request("POST", url + "/v3/kv/range", body: #"{"key":"Zm9v"}"#, options: certificates)
        #expect(range.body.contains(#""value":"YmFy""#), "\(kind): \(range)")
        #expect(throws: TestFailure.self, "\(kind): no client certificate, no answer") {
            try Curl.request("GET", url + "/health", options: ["--cacert", pki.caFile])
        }
    }

    @Test("the first bytes tell HTTP/2 from HTTP/1.1")
    func sniffing() {
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        #expect(ProtocolSniffer.classify(preface) == .http2)
        #expect(ProtocolSniffer.classify(preface.prefix(10)) == nil)
        #expect(ProtocolSniffer.classify(Array("POST /v3/kv/range HTTP/1.1\r\n".utf8)) == .http1)
        #expect(ProtocolSniffer.classify(Array("PRI * HTTP/1.1".utf8)) == .http1)
    }

    @Test("a body splits into JSON values as Go's decoder reads them")
    func jsonValues() {
        var splitter = JSONValueSplitter()
        let text = #" {"a":"}{\"x"} {"b":[1,{"c":2}]}"# + "\n" + #"{"d":"#
        let values = splitter.append(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
        #expect(values == [#"{"a":"}{\"x"}"#, #"{"b":[1,{"c":2}]}"#])
        #expect(splitter.append(Array("1}".utf8)).map { String(decoding: $0, as: UTF8.self) } == [#"{"d":1}"#])
        #expect(splitter.append(Array(" 42 ".utf8)).map { String(decoding: $0, as: UTF8.self) } == ["42"])
        #expect(splitter.finish() == nil)
    }

    // MARK: Helpers

    static func startBoth() throws -> (EtcdNode, EtcdNode) {
        let etcd = try EtcdNode(kind: .etcd, clientPort: try Ports.free(), peerPort: try Ports.free())
        do {
            return (etcd, try EtcdNode(kind: .swiftEtcd, clientPort: try Ports.free(), peerPort: try Ports.free()))
        } catch {
            etcd.stop()
            throw error
        }
    }

    /// Waits (up to 5 s) until an unlabelled metric has `value`: swift-etcd
    /// refreshes its gauges on the server's tick (100 ms), etcd at once.
    static func waitForGauge(_ name: String, at url: String, toBe value: Double) throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if try gauge(name, at: url) == value { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// The value of an unlabelled metric at `url`'s `/metrics`.
    static func gauge(_ name: String, at url: String) throws -> Double? {
        let body = try Curl.request("GET", url + "/metrics").body
        for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }
}

/// Bytes written to a socket as they are, for requests curl would not send.
enum RawHTTP {
    /// A TCP connection to 127.0.0.1:`port` whose reads give up after
    /// `timeout` seconds without a byte; the caller closes it.
    static func connect(port: Int, timeout: TimeInterval) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw TestFailure("cannot connect to 127.0.0.1:\(port)")
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func exchange(port: Int, _ request: String, timeout: TimeInterval = 2) throws -> String {
        let fd = try connect(port: port, timeout: timeout)
        defer { close(fd) }
        _ = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, 0) }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }
}
