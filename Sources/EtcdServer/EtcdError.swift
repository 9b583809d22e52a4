/// Errors the server returns to clients. Each case is one of etcd's
/// `rpctypes` errors; the API layer maps it to the same gRPC status code and
/// message text, which clients (etcdctl, clientv3, Kubernetes) match on.
public enum EtcdError: Error, Sendable, Hashable {
    case emptyKey
    case keyNotFound
    case valueProvided
    case leaseProvided
    case tooManyOps
    case duplicateKey
    case compacted
    case futureRevision
    case noSpace
    case leaseNotFound
    case leaseExists
    case leaseTTLTooLarge
    case requestTooLarge
    case noLeader
    case notLeader
    case leaderChanged
    case stopped
    case timeout
    case memberNotFound
    case memberExists
    case peerURLExists
    case memberBadURLs
    case memberNotLearner
    case learnerNotReady
    case tooManyLearners
    case notEnoughStartedMembers
    case badLeaderTransferee
    case leaderTransferTimeout
    case invalidAuthToken
    case permissionDenied
    case authNotEnabled
    // Authentication and role-based access (etcd's auth store errors).
    case rootUserNotExist
    case rootRoleNotExist
    case userAlreadyExists
    case userEmpty
    case userNotFound
    case roleAlreadyExists
    case roleNotFound
    case roleEmpty
    case authFailed
    case roleNotGranted
    case permissionNotGranted
    case invalidAuthManagement
    case authOldRevision
    /// An error etcd does not translate to a gRPC status of its own: it
    /// reaches the client as `Unknown` with the Go error's text (for
    /// instance `auth: permission denied` from the Maintenance service).
    case untranslated(String)
    case unimplemented(String)
    /// The request's task was cancelled (the client went away or its
    /// deadline passed) while the server waited for it, as a Go handler
    /// sees `context.Canceled`. Nobody is left to read it.
    case canceled

    /// gRPC status codes as numbers (so this module needs no gRPC dependency).
    public enum Code: Int, Sendable {
        case cancelled = 1, unknown = 2, invalidArgument = 3, notFound = 5, permissionDenied = 7, resourceExhausted = 8,
            failedPrecondition = 9, outOfRange = 11, unimplemented = 12, unavailable = 14,
            unauthenticated = 16
    }

    public var code: Code {
        switch self {
        case .emptyKey, .keyNotFound, .valueProvided, .leaseProvided, .tooManyOps,
            .duplicateKey, .requestTooLarge, .memberBadURLs:
            return .invalidArgument
        case .compacted, .futureRevision, .leaseTTLTooLarge: return .outOfRange
        case .noSpace: return .resourceExhausted
        case .leaseNotFound, .memberNotFound: return .notFound
        case .leaseExists, .notLeader, .memberExists, .peerURLExists, .authNotEnabled, .memberNotLearner,
            .learnerNotReady, .tooManyLearners, .notEnoughStartedMembers, .badLeaderTransferee:
            return .failedPrecondition
        case .noLeader, .leaderChanged, .stopped, .timeout: return .unavailable
        case .leaderTransferTimeout: return .unknown  // etcd has no gRPC code for it
        case .rootUserNotExist, .rootRoleNotExist, .userAlreadyExists, .userNotFound, .roleAlreadyExists,
            .roleNotFound, .roleNotGranted, .permissionNotGranted:
            return .failedPrecondition
        case .userEmpty, .roleEmpty, .authFailed, .invalidAuthManagement, .authOldRevision: return .invalidArgument
        case .untranslated: return .unknown
        case .invalidAuthToken: return .unauthenticated
        case .permissionDenied: return .permissionDenied
        case .unimplemented: return .unimplemented
        case .canceled: return .cancelled
        }
    }

    /// The exact text etcd sends.
    public var message: String {
        switch self {
        case .emptyKey: return "etcdserver: key is not provided"
        case .keyNotFound: return "etcdserver: key not found"
        case .valueProvided: return "etcdserver: value is provided"
        case .leaseProvided: return "etcdserver: lease is provided"
        case .tooManyOps: return "etcdserver: too many operations in txn request"
        case .duplicateKey: return "etcdserver: duplicate key given in txn request"
        case .compacted: return "etcdserver: mvcc: required revision has been compacted"
        case .futureRevision: return "etcdserver: mvcc: required revision is a future revision"
        case .noSpace: return "etcdserver: mvcc: database space exceeded"
        case .leaseNotFound: return "etcdserver: requested lease not found"
        case .leaseExists: return "etcdserver: lease already exists"
        case .leaseTTLTooLarge: return "etcdserver: too large lease TTL"
        case .requestTooLarge: return "etcdserver: request is too large"
        case .noLeader: return "etcdserver: no leader"
        case .notLeader: return "etcdserver: not leader"
        case .leaderChanged: return "etcdserver: leader changed"
        case .stopped: return "etcdserver: server stopped"
        case .timeout: return "etcdserver: request timed out"
        case .memberNotFound: return "etcdserver: member not found"
        case .memberExists: return "etcdserver: member ID already exist"
        case .peerURLExists: return "etcdserver: Peer URLs already exists"
        case .memberBadURLs: return "etcdserver: given member URLs are invalid"
        case .memberNotLearner: return "etcdserver: can only promote a learner member"
        case .learnerNotReady: return "etcdserver: can only promote a learner member which is in sync with leader"
        case .tooManyLearners: return "etcdserver: too many learner members in cluster"
        case .notEnoughStartedMembers:
            return "etcdserver: re-configuration failed due to not enough started members"
        case .badLeaderTransferee: return "etcdserver: bad leader transferee"
        case .leaderTransferTimeout: return "etcdserver: request timed out, leader transfer took too long"
        case .invalidAuthToken: return "etcdserver: invalid auth token"
        case .permissionDenied: return "etcdserver: permission denied"
        case .authNotEnabled: return "etcdserver: authentication is not enabled"
        case .rootUserNotExist: return "etcdserver: root user does not exist"
        case .rootRoleNotExist: return "etcdserver: root user does not have root role"
        case .userAlreadyExists: return "etcdserver: user name already exists"
        case .userEmpty: return "etcdserver: user name is empty"
        case .userNotFound: return "etcdserver: user name not found"
        case .roleAlreadyExists: return "etcdserver: role name already exists"
        case .roleNotFound: return "etcdserver: role name not found"
        case .roleEmpty: return "etcdserver: role name is empty"
        case .authFailed: return "etcdserver: authentication failed, invalid user ID or password"
        case .roleNotGranted: return "etcdserver: role is not granted to the user"
        case .permissionNotGranted: return "etcdserver: permission is not granted to the role"
        case .invalidAuthManagement: return "etcdserver: invalid auth management"
        case .authOldRevision: return "etcdserver: revision of auth store is old"
        case .untranslated(let text): return text
        case .unimplemented(let what): return "\(what) is not implemented yet"
        case .canceled: return "context canceled"
        }
    }
}
