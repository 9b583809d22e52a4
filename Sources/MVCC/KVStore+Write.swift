extension KVStore {
    /// Writes one key (etcd's `Put`), always as a new revision, even when
    /// the value is unchanged. Fails, writing nothing, with `.leaseNotFound`
    /// for an unknown lease and `.keyNotFound` when `ignoreValue` or
    /// `ignoreLease` is set on a missing key.
    public mutating func put(_ r: PutRequest) throws(MVCCError) -> (PutResponse, [Event]) {
        if r.lease != 0 && !leaseExists(r.lease) { throw .leaseNotFound }
        var batch = WriteBatch(main: currentRevision + 1)
        let response = try applyPut(r, in: &batch)
        return (response, commit(batch))
    }

    /// Deletes a key or range (etcd's `DeleteRange`). Deleting nothing makes
    /// no revision.
    public mutating func deleteRange(_ r: DeleteRangeRequest) -> (DeleteRangeResponse, [Event]) {
        var batch = WriteBatch(main: currentRevision + 1)
        var response = applyDeleteRange(r, in: &batch)
        let events = commit(batch)
        response.revision = currentRevision
        return (response, events)
    }

    // MARK: Building blocks shared with transactions

    /// Puts inside `batch`. Checks only what depends on the key's current
    /// state (so a failure leaves the store untouched); lease existence is
    /// the caller's check.
    mutating func applyPut(_ r: PutRequest, in batch: inout WriteBatch) throws(MVCCError) -> PutResponse {
        let revision = batch.nextRevision
        let source = valueSource
        let outcome: Result<(PutResponse, WriteBatch.Change), MVCCError> = index.modify(r.key) { ki in
            let current = ki.live
            if (r.ignoreValue || r.ignoreLease) && current == nil { return .failure(.keyNotFound) }
            // The key's version before this batch, value included: watchers
            // get it as `prevKv`. The current version is the same one unless
            // this batch already wrote the key.
            let prevEntry = ki.get(atRev: revision.main - 1)
            let prev = prevEntry.map { Self.keyValue(ki, $0, from: source) }
            var currentKV: KeyValue?
            if let current {
                currentKV = current.revision == prevEntry?.revision ? prev : Self.keyValue(ki, current, from: source)
            }
            let value = r.ignoreValue ? (currentKV?.value ?? []) : r.value
            let lease = r.ignoreLease ? (current?.lease ?? 0) : r.lease
            var response = PutResponse(revision: revision.main)
            if r.prevKv { response.prevKv = currentKV }
            let entry = ki.put(at: revision, value: value, lease: lease)
            let change = WriteBatch.Change(
                key: ki.key, revision: revision,
                leaseBefore: current?.lease ?? 0, leaseAfter: lease,
                event: Event(kind: .put, kv: ki.keyValue(entry), prevKv: prev))
            return .success((response, change))
        }
        switch outcome {
        case .failure(let error):
            throw error
        case .success(let (response, change)):
            log.append(change.revision, change.key)
            batch.record(change)
            return response
        }
    }

    /// Deletes every key live in the range inside `batch`.
    mutating func applyDeleteRange(_ r: DeleteRangeRequest, in batch: inout WriteBatch) -> DeleteRangeResponse {
        let readRevision = batch.readRevision(current: currentRevision)
        // Values are read only for the response; each event's `prevKv` reads
        // its own below.
        let found = rangeKeys(
            key: r.key, end: KeyRange.indexEnd(r.rangeEnd), atRev: readRevision, limit: 0,
            countOnly: false, values: r.prevKv)
        var response = DeleteRangeResponse(deleted: Int64(found.kvs.count))
        if r.prevKv { response.prevKvs = found.kvs }
        let source = valueSource
        for kv in found.kvs {
            let revision = batch.nextRevision
            let prev: KeyValue?? = index.modify(kv.key) { ki in
                let prev = ki.get(atRev: revision.main - 1).map { Self.keyValue(ki, $0, from: source) }
                return ki.tombstone(at: revision) ? .some(prev) : .none
            }
            guard let prev else { continue }
            log.append(revision, kv.key)
            let tombstone = KeyValue(
                key: kv.key, createRevision: 0, modRevision: revision.main, version: 0, value: [])
            batch.record(
                WriteBatch.Change(
                    key: kv.key, revision: revision, leaseBefore: kv.lease,
                    leaseAfter: 0, event: Event(kind: .delete, kv: tombstone, prevKv: prev)))
        }
        response.revision = batch.readRevision(current: currentRevision)
        return response
    }

    /// Makes the batch's changes current and returns them as events, each
    /// with `prevKv` as of the revision before (as etcd's watchers see it).
    mutating func commit(_ batch: WriteBatch) -> [Event] {
        guard !batch.changes.isEmpty else { return [] }
        currentRevision = batch.main
        applyLeaseChanges(batch.changes)
        for change in batch.changes {
            sizeEstimate += Self.versionCost(key: change.key.count, value: change.event.kv.value.count)
        }
        return batch.changes.map(\.event)
    }

    /// Undoes everything the batch wrote (a transaction failed part-way).
    mutating func rollback(_ batch: WriteBatch) {
        for change in batch.changes.reversed() {
            index.modify(change.key) { $0.removeEntries(atMain: batch.main) }
        }
        log.removeLast(batch.changes.count)
    }

    /// Keeps lease attachments in step with committed changes: a key leaves
    /// its old lease and joins its new one (etcd detaches and re-attaches
    /// even when both are the same lease). Done at commit only, so a
    /// rolled-back batch never touches the lessor.
    mutating func applyLeaseChanges(_ changes: [WriteBatch.Change]) {
        for change in changes {
            if change.leaseBefore != 0 { lessor.detach(change.leaseBefore, key: change.key) }
            if change.leaseAfter != 0 { lessor.attach(change.leaseAfter, key: change.key) }
        }
    }
}
