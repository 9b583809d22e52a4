/// The volatile state that the caller may want to observe (leader changes).
public struct SoftState: Sendable, Hashable {
    public var lead: NodeID
    public var role: RaftRole

    public init(lead: NodeID, role: RaftRole) {
        self.lead = lead
        self.role = role
    }
}
