import Raft

/// A failed line of a cluster script.
public struct ScriptFailure: Sendable, CustomStringConvertible {
    public var line: Int
    public var command: String
    public var message: String

    public var description: String { "line \(line): `\(command)`: \(message)" }
}
