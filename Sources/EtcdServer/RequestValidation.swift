import MVCC

/// Checks etcd makes before a request reaches the store (etcd's v3rpc
/// `checkPutRequest`, `checkTxnRequest`, `checkIntervals`): cheap, stateless,
/// and answered without consulting Raft.
public enum RequestValidation {
    public static func check(_ r: RangeRequest) throws(EtcdError) {
        if r.key.isEmpty { throw .emptyKey }
    }

    public static func check(_ r: PutRequest) throws(EtcdError) {
        if r.key.isEmpty { throw .emptyKey }
        if r.ignoreValue && !r.value.isEmpty { throw .valueProvided }
        if r.ignoreLease && r.lease != 0 { throw .leaseProvided }
    }

    public static func check(_ r: DeleteRangeRequest) throws(EtcdError) {
        if r.key.isEmpty { throw .emptyKey }
    }

    /// The operation count limit applies to the widest of the compare,
    /// success and failure lists; nested transactions get what is left.
    public static func check(_ r: TxnRequest, maxTxnOps: Int) throws(EtcdError) {
        let ops = max(r.compare.count, r.success.count, r.failure.count)
        if ops > maxTxnOps { throw .tooManyOps }
        for c in r.compare where c.key.isEmpty { throw .emptyKey }
        for op in r.success + r.failure {
            switch op {
            case .range(let q): try check(q)
            case .put(let q): try check(q)
            case .deleteRange(let q): try check(q)
            case .txn(let q): try check(q, maxTxnOps: maxTxnOps - ops)
            }
        }
    }

    /// Rejects a transaction branch that writes one key twice, or puts a key
    /// that the same branch deletes: the result would depend on op order.
    public static func checkOverlaps(_ r: TxnRequest) throws(EtcdError) {
        _ = try writes(in: r.success)
        _ = try writes(in: r.failure)
    }

    /// Keys put and ranges deleted by a list of ops (recursively), or
    /// `.duplicateKey` when they overlap.
    private static func writes(in ops: [RequestOp]) throws(EtcdError) -> (puts: Set<[UInt8]>, deletes: [KeyRange]) {
        var deletes: [KeyRange] = []
        for case .deleteRange(let d) in ops {
            deletes.append(KeyRange(key: d.key, rangeEnd: d.rangeEnd))
        }
        var puts = Set<[UInt8]>()
        for case .txn(let t) in ops {
            let then = try writes(in: t.success)
            let other = try writes(in: t.failure)
            for k in then.puts {
                if puts.contains(k) || deletes.contains(where: { $0.contains(k) }) { throw .duplicateKey }
                puts.insert(k)
            }
            for k in other.puts {
                // A key put in both branches is fine: only one branch runs.
                if puts.contains(k) && !then.puts.contains(k) { throw .duplicateKey }
                if deletes.contains(where: { $0.contains(k) }) { throw .duplicateKey }
                puts.insert(k)
            }
            deletes.append(contentsOf: then.deletes)
            deletes.append(contentsOf: other.deletes)
        }
        for case .put(let p) in ops {
            if puts.contains(p.key) || deletes.contains(where: { $0.contains(p.key) }) { throw .duplicateKey }
            puts.insert(p.key)
        }
        return (puts, deletes)
    }
}

extension KeyRange {
    /// Whether `k` falls in this single key or half-open range
    /// (`rangeEnd == [0]` means every key from `key` on).
    func contains(_ k: [UInt8]) -> Bool {
        if rangeEnd.isEmpty { return k == key }
        if k.lexicographicallyPrecedes(key) { return false }
        if rangeEnd == [0] { return true }
        return k.lexicographicallyPrecedes(rangeEnd)
    }
}
