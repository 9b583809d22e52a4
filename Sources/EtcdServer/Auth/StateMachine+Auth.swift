import MVCC

/// Apply-time permission checks (etcd's `authApplierV3`): a wrapper around
/// the plain applier that refuses a command its proposer may not issue.
/// Every member runs it on the same log against the same auth store, so all
/// refuse the same commands.
extension StateMachine {
    /// Applies `command` if `caller` may issue it.
    mutating func apply(_ command: Command, by caller: AuthHeader?) -> (ApplyResult, [Event]) {
        do {
            try authorize(command, by: caller)
        } catch {
            return (.failure(error), [])
        }
        return apply(command)
    }

    /// Throws what etcd answers when `caller` may not issue `command`.
    /// Compaction, lease grants, alarms and membership are not checked
    /// here, as in etcd 3.4 (membership is checked before proposing).
    func authorize(_ command: Command, by caller: AuthHeader?) throws(EtcdError) {
        guard auth.isEnabled else { return }
        switch command {
        case .put(let put):
            guard let permissions = try auth.permissions(of: caller) else { return }
            try authorize(put, with: permissions)
            // A lease whose keys the caller cannot write is one it cannot
            // revoke, so it may not attach more keys to it either.
            try authorizeLeaseKeys(put.lease, with: permissions)
        case .deleteRange(let delete):
            guard let permissions = try auth.permissions(of: caller) else { return }
            try authorize(delete, with: permissions)
        case .txn(let txn):
            guard let permissions = try auth.permissions(of: caller) else { return }
            try authorize(txn, with: permissions)
        case .leaseRevoke(let id):
            guard let permissions = try auth.permissions(of: caller) else { return }
            try authorizeLeaseKeys(id, with: permissions)
        case .auth(let change):
            if change.needsAdmin { try auth.checkAdmin(caller) }
        case .compact, .leaseGrant, .publish, .memberUpdate, .alarm:
            return
        }
    }

    /// etcd's `checkTxnAuth`: every compare needs read permission, every op
    /// its own; nested transactions are checked too (etcd 3.4 skips them,
    /// which let a nested put through unchecked).
    func authorize(_ txn: TxnRequest, with permissions: UserPermissions) throws(EtcdError) {
        for compare in txn.compare {
            try require(permissions, compare.key, compare.rangeEnd, .read)
        }
        for op in txn.success + txn.failure {
            switch op {
            case .range(let range): try require(permissions, range.key, range.rangeEnd, .read)
            case .put(let put): try require(permissions, put.key, [], .write)
            case .deleteRange(let delete): try authorize(delete, with: permissions)
            case .txn(let nested): try authorize(nested, with: permissions)
            }
        }
    }

    private func authorize(_ put: PutRequest, with permissions: UserPermissions) throws(EtcdError) {
        try require(permissions, put.key, [], .write)
        if put.prevKv { try require(permissions, put.key, [], .read) }
    }

    private func authorize(_ delete: DeleteRangeRequest, with permissions: UserPermissions) throws(EtcdError) {
        try require(permissions, delete.key, delete.rangeEnd, .write)
        if delete.prevKv { try require(permissions, delete.key, delete.rangeEnd, .read) }
    }

    /// etcd's `checkLeasePuts`: the caller must be able to write every key
    /// attached to lease `id` (an unknown lease passes; applying reports it).
    private func authorizeLeaseKeys(_ id: Int64, with permissions: UserPermissions) throws(EtcdError) {
        guard id != 0, let lease = store.lessor.lookup(id) else { return }
        for key in lease.keys { try require(permissions, key, [], .write) }
    }

    private func require(
        _ permissions: UserPermissions, _ key: [UInt8], _ rangeEnd: [UInt8], _ access: KeyPermission.Access
    ) throws(EtcdError) {
        guard permissions.allows(key: key, rangeEnd: rangeEnd, access: access) else { throw .permissionDenied }
    }
}
