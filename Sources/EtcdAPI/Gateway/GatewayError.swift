import Foundation
import GRPCCore
import NIOHTTP1

/// An error as etcd 3.4's grpc-gateway (grpc-ecosystem/grpc-gateway v1)
/// reports it: the gRPC status code and message, an HTTP status chosen by
/// `runtime.HTTPStatusFromCode`, and one of two JSON shapes (a unary call's
/// body, or a chunk of a streaming response).
struct GatewayError: Error, Sendable, Equatable {
    /// The gRPC status code, as a number (`codes.Code`).
    var code: Int
    var message: String

    init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    init(_ error: any Error) {
        if let rpc = error as? RPCError {
            self.init(code: rpc.code.rawValue, message: rpc.message)
        } else if let gateway = error as? GatewayError {
            self = gateway
        } else {
            // Not a gRPC status: grpc-gateway reports codes.Unknown.
            self.init(code: 2, message: "\(error)")
        }
    }

    /// A request body that is not the JSON of the method's request message
    /// (grpc-gateway answers `codes.InvalidArgument` with the decoder's text).
    static func malformedBody(_ reason: String) -> GatewayError {
        GatewayError(code: 3, message: reason)
    }

    /// A request message over the server's limit, in grpc-go's words: the
    /// gateway forwards any body to the gRPC server, whose transport refuses
    /// messages over `--max-request-bytes` + 512 KiB.
    static func messageTooLarge(size: Int, limit: Int) -> GatewayError {
        GatewayError(code: 8, message: "grpc: received message larger than max (\(size) vs. \(limit))")
    }

    /// grpc-gateway's `HTTPStatusFromCode`.
    var httpStatus: HTTPResponseStatus {
        switch code {
        case 0: .ok
        case 1: .requestTimeout  // Canceled
        case 3, 11: .badRequest  // InvalidArgument, OutOfRange
        case 4: .gatewayTimeout  // DeadlineExceeded
        case 5: .notFound
        case 6, 10: .conflict  // AlreadyExists, Aborted
        case 7: .forbidden  // PermissionDenied
        case 8: .tooManyRequests  // ResourceExhausted
        case 9: .preconditionFailed  // FailedPrecondition
        case 12: .notImplemented
        case 14: .serviceUnavailable
        case 16: .unauthorized  // Unauthenticated
        default: .internalServerError  // Unknown, Internal, DataLoss
        }
    }

    /// The body of a failed unary call (`runtime.errorBody`).
    var unaryBody: String {
        "{\"error\":\(JSONText.quoted(message)),\"message\":\(JSONText.quoted(message)),\"code\":\(code)}"
    }

    /// The chunk that ends a failed stream (`internal.StreamError` in a
    /// `{"error": …}` envelope).
    var streamChunk: String {
        let status = httpStatus
        return "{\"error\":{\"grpc_code\":\(code),\"http_code\":\(status.code),\"message\":\(JSONText.quoted(message)),"
            + "\"http_status\":\(JSONText.quoted(status.reasonPhrase))}}"
    }
}

/// JSON string literals as Go's `encoding/json` writes them (which
/// grpc-gateway's marshaler uses for strings): `<`, `>` and `&` escaped
/// too, so the text is safe to embed in HTML.
enum JSONText {
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += String(format: "\\u%04x", scalar.value)
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
