import GRPCCore
import NIOCore

/// The parts of gRPC's HTTP/2 mapping that are plain text: the
/// `grpc-timeout` header and the `grpc-message` trailer's encoding.
enum GRPCWire {
    /// `grpc-timeout`: 1 to 8 ASCII digits and a unit (H, M, S, m, u, n).
    /// Nil when malformed (the call then runs without a deadline, as
    /// grpc-swift treats it).
    static func timeout(_ value: Substring) -> TimeAmount? {
        guard let unit = value.utf8.last, value.utf8.count >= 2, value.utf8.count <= 9 else { return nil }
        var amount: Int64 = 0
        for byte in value.utf8.dropLast() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        let nanosecondsPerUnit: Int64
        switch unit {
        case UInt8(ascii: "H"): nanosecondsPerUnit = 3_600_000_000_000
        case UInt8(ascii: "M"): nanosecondsPerUnit = 60_000_000_000
        case UInt8(ascii: "S"): nanosecondsPerUnit = 1_000_000_000
        case UInt8(ascii: "m"): nanosecondsPerUnit = 1_000_000
        case UInt8(ascii: "u"): nanosecondsPerUnit = 1_000
        case UInt8(ascii: "n"): nanosecondsPerUnit = 1
        default: return nil
        }
        // 99,999,999 hours does not fit in a TimeAmount: no deadline then.
        let (nanoseconds, overflow) = amount.multipliedReportingOverflow(by: nanosecondsPerUnit)
        return overflow ? nil : .nanoseconds(nanoseconds)
    }

    /// `grpc-message`: UTF-8 with every byte outside 0x20...0x7E, and `%`
    /// itself, written as `%XX` (uppercase hex), as the gRPC spec asks.
    /// Most messages need nothing, and are returned as they are.
    static func percentEncoded(_ message: String) -> String {
        let utf8 = message.utf8
        guard utf8.contains(where: needsEscape) else { return message }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 16)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in utf8 {
            if needsEscape(byte) {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%")
    }

    /// The decimal `grpc-status` of a code.
    static func statusValue(_ code: RPCError.Code?) -> String {
        guard let code else { return "0" }
        return String(Status.Code(code).rawValue)
    }
}
