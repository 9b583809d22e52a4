/// Parses durations written as Go's `time.ParseDuration` accepts them
/// (`100ms`, `1.5s`, `10m`, `1h30m`), which is how etcd's duration flags read.
enum GoDuration {
    static func parse(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        var rest = Substring(text)
        var total = Duration.zero
        var parts = 0
        while !rest.isEmpty, parts < 16 {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            total += .nanoseconds(Int64(value * scale * 1e9))
            parts += 1
        }
        return rest.isEmpty && parts > 0 ? total : nil
    }
}
