extension KVStore {
    /// Runs a transaction (etcd's `Txn`): evaluates the compares, then
    /// applies the chosen branch's operations as one write with one
    /// revision. Nested transactions decide their branch up front too, all
    /// against the state before the transaction, as etcd does.
    ///
    /// Everything that could fail is checked before the first write, so a
    /// failing transaction writes nothing; should an operation still fail
    /// part-way, its writes are rolled back.
    public mutating func txn(_ r: TxnRequest) throws(MVCCError) -> (TxnResponse, [Event]) {
        let plan = planTxn(r)
        try checkPuts(r, plan)
        try checkRanges(r, plan)
        var batch = WriteBatch(main: currentRevision + 1)
        var response: TxnResponse
        do {
            response = try applyTxn(r, plan, in: &batch)
        } catch {
            rollback(batch)
            throw error
        }
        let events = commit(batch)
        response.revision = currentRevision
        return (response, events)
    }

    /// The branch a transaction takes, and those of the transactions nested
    /// in that branch, in order (etcd's "txn path").
    struct TxnPlan: Sendable {
        var succeeded: Bool
        var nested: [TxnPlan]
    }

    func planTxn(_ r: TxnRequest) -> TxnPlan {
        let succeeded = r.compare.allSatisfy { compareHolds($0) }
        var nested: [TxnPlan] = []
        for op in succeeded ? r.success : r.failure {
            if case .txn(let inner) = op { nested.append(planTxn(inner)) }
        }
        return TxnPlan(succeeded: succeeded, nested: nested)
    }

    /// One guard, evaluated at the current revision (etcd's `applyCompare`).
    /// Every key in the range must satisfy it; with no key there, a value
    /// compare fails and the others compare against zero.
    func compareHolds(_ c: Compare) -> Bool {
        var needsValue = false
        if case .value = c.target { needsValue = true }
        let found = rangeKeys(
            key: c.key, end: KeyRange.indexEnd(c.rangeEnd), atRev: currentRevision, limit: 0,
            countOnly: false, values: needsValue)
        if found.kvs.isEmpty {
            if case .value = c.target { return false }
            return Self.compare(c, KeyValue(key: [], createRevision: 0, modRevision: 0, version: 0, value: []))
        }
        return found.kvs.allSatisfy { Self.compare(c, $0) }
    }

    static func compare(_ c: Compare, _ kv: KeyValue) -> Bool {
        let order: Int
        switch c.target {
        case .value(let v): order = Bytes.compare(kv.value, v)
        case .version(let v): order = kv.version < v ? -1 : (kv.version > v ? 1 : 0)
        case .createRevision(let v): order = kv.createRevision < v ? -1 : (kv.createRevision > v ? 1 : 0)
        case .modRevision(let v): order = kv.modRevision < v ? -1 : (kv.modRevision > v ? 1 : 0)
        case .lease(let v): order = kv.lease < v ? -1 : (kv.lease > v ? 1 : 0)
        }
        switch c.result {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .greater: return order > 0
        case .less: return order < 0
        }
    }

    /// The chosen branch of `r` with each nested transaction paired with its plan.
    private func branch(_ r: TxnRequest, _ plan: TxnPlan) -> [(op: RequestOp, plan: TxnPlan?)] {
        var nested = plan.nested.makeIterator()
        return (plan.succeeded ? r.success : r.failure).map { op in
            if case .txn = op { return (op, nested.next()) }
            return (op, nil)
        }
    }

    /// etcd's `checkRequestPut` over the whole plan, against the state
    /// before the transaction: `ignoreValue`/`ignoreLease` need the key to
    /// exist, and a lease must exist.
    private func checkPuts(_ r: TxnRequest, _ plan: TxnPlan) throws(MVCCError) {
        for (op, nestedPlan) in branch(r, plan) {
            switch op {
            case .txn(let inner):
                if let nestedPlan { try checkPuts(inner, nestedPlan) }
            case .put(let p):
                if (p.ignoreValue || p.ignoreLease) && index[p.key]?.live == nil { throw .keyNotFound }
                if p.lease != 0 && !leaseExists(p.lease) { throw .leaseNotFound }
            case .range, .deleteRange:
                break
            }
        }
    }

    /// etcd's `checkRequestRange`: a read revision must be neither in the
    /// future nor compacted.
    private func checkRanges(_ r: TxnRequest, _ plan: TxnPlan) throws(MVCCError) {
        for (op, nestedPlan) in branch(r, plan) {
            switch op {
            case .txn(let inner):
                if let nestedPlan { try checkRanges(inner, nestedPlan) }
            case .range(let rr):
                if rr.revision == 0 { continue }
                if rr.revision > currentRevision { throw .futureRevision }
                if rr.revision < compactMainRevision { throw .compacted }
            case .put, .deleteRange:
                break
            }
        }
    }

    /// Applies the planned branch inside `batch`. A nested transaction's
    /// response carries revision 0, as in etcd (only the outer header is set).
    private mutating func applyTxn(
        _ r: TxnRequest, _ plan: TxnPlan, in batch: inout WriteBatch
    ) throws(MVCCError) -> TxnResponse {
        var responses: [ResponseOp] = []
        for (op, nestedPlan) in branch(r, plan) {
            switch op {
            case .range(let rr):
                let readRevision = batch.readRevision(current: currentRevision)
                responses.append(.range(try range(rr, readRevision: readRevision)))
            case .put(let p):
                responses.append(.put(try applyPut(p, in: &batch)))
            case .deleteRange(let d):
                responses.append(.deleteRange(applyDeleteRange(d, in: &batch)))
            case .txn(let inner):
                let innerPlan = nestedPlan ?? planTxn(inner)
                responses.append(.txn(try applyTxn(inner, innerPlan, in: &batch)))
            }
        }
        return TxnResponse(succeeded: plan.succeeded, responses: responses, revision: 0)
    }
}
