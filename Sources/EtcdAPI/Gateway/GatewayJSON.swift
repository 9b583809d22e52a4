import SwiftProtobuf

/// The protobuf JSON mapping as etcd 3.4's gateway uses it (grpc-gateway's
/// `JSONPb{OrigName: true}`): field names as written in the `.proto`
/// (`create_revision`, `grantedTTL`), 64-bit integers as strings, bytes in
/// base64, enums by name, fields at their zero value left out; unknown
/// fields in requests are ignored.
enum GatewayJSON {
    static let encoding: JSONEncodingOptions = {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return options
    }()

    static let decoding: JSONDecodingOptions = {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        return options
    }()

    /// The request message in `json` (nil: an empty body, which
    /// grpc-gateway reads as the empty message).
    static func decode<M: SwiftProtobuf.Message>(_ json: [UInt8]?, as type: M.Type = M.self) throws(GatewayError) -> M {
        guard let json else { return M() }
        do {
            return try M(jsonUTF8Bytes: json, options: decoding)
        } catch {
            throw .malformedBody(describe(error))
        }
    }

    static func encode(_ message: some SwiftProtobuf.Message) throws(GatewayError) -> String {
        do {
            return try message.jsonString(options: encoding)
        } catch {
            throw GatewayError(code: 13, message: "failed to marshal the response: \(error)")
        }
    }

    /// A reason a person can act on (SwiftProtobuf's cases read like
    /// `malformedString`; Go's decoder says `invalid character …`).
    private static func describe(_ error: any Error) -> String {
        guard let json = error as? JSONDecodingError else { return "\(error)" }
        switch json {
        case .malformedString: return "invalid JSON: a malformed string (names must be quoted, bytes base64)"
        case .malformedNumber, .numberRange, .leadingZero: return "invalid JSON number"
        case .malformedBool: return "invalid JSON boolean"
        case .unrecognizedEnumValue: return "unknown enum value"
        case .truncated: return "unexpected EOF"
        case .trailingGarbage: return "unexpected data after the JSON value"
        case .conflictingOneOf: return "more than one field of a oneof is set"
        default: return "invalid JSON: \(json)"
        }
    }
}
