/// The outcome of counting votes.
enum VoteResult: Sendable {
    case pending, won, lost
}
