import MVCC
import Testing
@testable import EtcdServer

/// Apply-time checks (etcd's authApplierV3): each command is refused
/// unless its proposer may issue it, against the auth store at apply time.
@Suite struct AuthorizationTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Auth on; alice may read `r/*`, write `w/*`, and read-write `rw`.
    static func machine() throws -> StateMachine {
        var machine = StateMachine()
        let commands: [AuthCommand] = [
            .userAdd(name: "root", password: nil, noPassword: true),
            .userGrantRole(user: "root", role: "root"),
            .userAdd(name: "alice", password: nil, noPassword: true),
            .roleAdd(name: "app"),
            .roleGrantPermission(role: "app", permission: KeyPermission(access: .read, key: b("r/"), rangeEnd: b("r0"))),
            .roleGrantPermission(role: "app", permission: KeyPermission(access: .write, key: b("w/"), rangeEnd: b("w0"))),
            .roleGrantPermission(role: "app", permission: KeyPermission(access: .readWrite, key: b("rw"), rangeEnd: [])),
            .userGrantRole(user: "alice", role: "app"),
            .enable,
        ]
        for command in commands {
            guard case .auth = machine.apply(.auth(command)).0 else { throw TestError("\(command) failed") }
        }
        return machine
    }

    static func alice(_ machine: StateMachine) -> AuthHeader { AuthHeader(username: "alice", revision: machine.auth.revision) }
    static func root(_ machine: StateMachine) -> AuthHeader { AuthHeader(username: "root", revision: machine.auth.revision) }

    static func failure(_ result: (ApplyResult, [Event])) -> EtcdError? {
        if case .failure(let error) = result.0 { return error }
        return nil
    }

    @Test func putNeedsWriteAndPrevKvNeedsRead() throws {
        var machine = try Self.machine()
        let alice = Self.alice(machine)
        #expect(Self.failure(machine.apply(.put(PutRequest(key: Self.b("w/a"), value: Self.b("1"))), by: alice)) == nil)
        #expect(Self.failure(machine.apply(.put(PutRequest(key: Self.b("r/a"), value: Self.b("1"))), by: alice)) == .permissionDenied)
        #expect(Self.failure(machine.apply(.put(PutRequest(key: Self.b("w/a"), value: Self.b("2"), prevKv: true)), by: alice)) == .permissionDenied)
        #expect(Self.failure(machine.apply(.put(PutRequest(key: Self.b("rw"), value: Self.b("2"), prevKv: true)), by: alice)) == nil)
        #expect(Self.failure(machine.apply(.put(PutRequest(key: Self.b("w/a"), value: Self.b("1"))), by: nil)) == .userEmpty)
        // Nothing was written by the refused ones.
        #expect(machine.store.currentRevision == 3)
    }

    @Test func deleteNeedsWriteOnTheWholeRange() throws {
        var machine = try Self.machine()
        let alice = Self.alice(machine)
        #expect(Self.failure(machine.apply(.deleteRange(DeleteRangeRequest(key: Self.b("w/"), rangeEnd: Self.b("w0"))), by: alice)) == nil)
        #expect(Self.failure(machine.apply(.deleteRange(DeleteRangeRequest(key: Self.b("w"), rangeEnd: Self.b("x"))), by: alice)) == .permissionDenied)
        #expect(Self.failure(machine.apply(.deleteRange(DeleteRangeRequest(key: Self.b("w/a"), prevKv: true)), by: alice)) == .permissionDenied)
    }

    @Test func txnChecksComparesOpsAndNestedTxns() throws {
        var machine = try Self.machine()
        let alice = Self.alice(machine)
        let readR = Compare(key: Self.b("r/x"), rangeEnd: [], target: .version(0), result: .equal)
        let readW = Compare(key: Self.b("w/x"), rangeEnd: [], target: .version(0), result: .equal)
        let putW = RequestOp.put(PutRequest(key: Self.b("w/x"), value: Self.b("1")))
        let putR = RequestOp.put(PutRequest(key: Self.b("r/x"), value: Self.b("1")))
        let ok = TxnRequest(compare: [readR], success: [putW], failure: [.range(RangeRequest(key: Self.b("r/x")))])
        #expect(Self.failure(machine.apply(.txn(ok), by: alice)) == nil)
        // A compare on a key alice cannot read.
        #expect(Self.failure(machine.apply(.txn(TxnRequest(compare: [readW], success: [putW], failure: [])), by: alice)) == .permissionDenied)
        // An op in the branch that would not run is checked all the same.
        #expect(Self.failure(machine.apply(.txn(TxnRequest(compare: [readR], success: [putW], failure: [putR])), by: alice)) == .permissionDenied)
        // A put hidden in a nested transaction is checked too.
        let nested = TxnRequest(compare: [], success: [.txn(TxnRequest(compare: [], success: [putR], failure: []))], failure: [])
        #expect(Self.failure(machine.apply(.txn(nested), by: alice)) == .permissionDenied)
    }

    @Test func leaseRevokeNeedsWriteOnItsKeys() throws {
        var machine = try Self.machine()
        let root = Self.root(machine)
        _ = machine.apply(.leaseGrant(id: 7, ttl: 100), by: root)
        _ = machine.apply(.put(PutRequest(key: Self.b("w/leased"), value: Self.b("v"), lease: 7)), by: root)
        _ = machine.apply(.put(PutRequest(key: Self.b("r/leased"), value: Self.b("v"), lease: 7)), by: root)
        let alice = Self.alice(machine)
        #expect(Self.failure(machine.apply(.leaseRevoke(id: 7), by: alice)) == .permissionDenied)
        // Nor may she attach another key to a lease she could not revoke.
        #expect(Self.failure(machine.apply(.put(PutRequest(key: Self.b("w/more"), value: Self.b("v"), lease: 7)), by: alice)) == .permissionDenied)
        #expect(Self.failure(machine.apply(.leaseRevoke(id: 7), by: root)) == nil)
    }

    @Test func authChangesNeedRootButAuthenticateDoesNot() throws {
        var machine = try Self.machine()
        let alice = Self.alice(machine)
        #expect(Self.failure(machine.apply(.auth(.roleAdd(name: "x")), by: alice)) == .permissionDenied)
        #expect(Self.failure(machine.apply(.auth(.disable), by: nil)) == .userEmpty)
        #expect(Self.failure(machine.apply(.auth(.roleAdd(name: "x")), by: Self.root(machine))) == nil)
        // Authenticating needs no caller (the password was checked before).
        let result = machine.apply(.auth(.authenticate(name: "root", tokenPrefix: "p")), by: nil)
        #expect(Self.failure(result) == .authFailed)  // root has no password here
    }

    @Test func compactionAndLeaseGrantAreNotCheckedAsInEtcd34() throws {
        var machine = try Self.machine()
        _ = machine.apply(.put(PutRequest(key: Self.b("w/a"), value: Self.b("1"))), by: Self.alice(machine))
        #expect(Self.failure(machine.apply(.leaseGrant(id: 9, ttl: 60), by: nil)) == nil)
        #expect(Self.failure(machine.apply(.compact(CompactionRequest(revision: 2)), by: nil)) == nil)
    }

    @Test func staleHeaderIsRefused() throws {
        var machine = try Self.machine()
        let before = Self.alice(machine)
        _ = machine.apply(.auth(.roleAdd(name: "other")), by: Self.root(machine))
        #expect(Self.failure(machine.apply(.put(PutRequest(key: Self.b("w/a"), value: Self.b("1"))), by: before)) == .authOldRevision)
    }

    @Test func nothingIsCheckedWhileAuthIsOff() {
        var machine = StateMachine()
        #expect(Self.failure(machine.apply(.put(PutRequest(key: Self.b("k"), value: Self.b("1"))), by: nil)) == nil)
        #expect(Self.failure(machine.apply(.auth(.roleAdd(name: "r")), by: nil)) == nil)
    }
}

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
