extension KVStore {
    /// Reads keys as etcd's `Range` does, at the request's revision (0: now).
    public func range(_ r: RangeRequest) throws(MVCCError) -> RangeResponse {
        try range(r, readRevision: currentRevision)
    }

    /// `Range` as seen from `readRevision`, which inside a transaction that
    /// has already written is the revision it will commit at.
    func range(_ r: RangeRequest, readRevision: Int64) throws(MVCCError) -> RangeResponse {
        // Sorting or filtering needs every match before the limit applies;
        // otherwise fetch one extra key to learn whether there are `more`.
        var fetchLimit = r.limit
        if r.sortOrder != .none || r.minModRevision != 0 || r.maxModRevision != 0
            || r.minCreateRevision != 0 || r.maxCreateRevision != 0
        {
            fetchLimit = 0
        }
        if fetchLimit > 0 && fetchLimit < Int64.max { fetchLimit += 1 }

        var atRev = r.revision
        if atRev > readRevision { throw .futureRevision }
        if atRev <= 0 { atRev = readRevision }
        if atRev < compactMainRevision { throw .compacted }

        let found = rangeKeys(
            key: r.key, end: KeyRange.indexEnd(r.rangeEnd), atRev: atRev,
            limit: fetchLimit > 0 ? Int(clamping: fetchLimit) : 0, countOnly: r.countOnly,
            values: !r.keysOnly || r.sortTarget == .value)
        var kvs = found.kvs

        // Revision filters prune the fetched keys; `count` stays as fetched.
        if r.maxModRevision != 0 { kvs.removeAll { $0.modRevision > r.maxModRevision } }
        if r.minModRevision != 0 { kvs.removeAll { $0.modRevision < r.minModRevision } }
        if r.maxCreateRevision != 0 { kvs.removeAll { $0.createRevision > r.maxCreateRevision } }
        if r.minCreateRevision != 0 { kvs.removeAll { $0.createRevision < r.minCreateRevision } }

        Self.sort(&kvs, order: r.sortOrder, target: r.sortTarget)

        var more = false
        if r.limit > 0 && Int64(kvs.count) > r.limit {
            kvs.removeSubrange(Int(r.limit)...)
            more = true
        }
        if r.keysOnly {
            for i in kvs.indices { kvs[i].value = [] }
        }
        return RangeResponse(kvs: kvs, more: more, count: Int64(found.count), revision: readRevision)
    }

    /// The keys live at `atRev` in `[key, end)` (`end` nil: just `key`;
    /// empty: no upper bound): all of them counted, the first `limit`
    /// (0: all) returned unless only the count is wanted; with `values`
    /// false their values are left empty (and never read from the source).
    func rangeKeys(
        key: [UInt8], end: [UInt8]?, atRev: Int64, limit: Int, countOnly: Bool, values: Bool = true
    ) -> (kvs: [KeyValue], count: Int) {
        guard let end else {
            guard let ki = index[key], let entry = ki.get(atRev: atRev) else { return ([], 0) }
            if countOnly { return ([], 1) }
            return ([values ? keyValue(ki, entry) : ki.keyValue(entry)], 1)
        }
        var kvs = KeyValueCollector()
        var count = 0
        // At the newest revision a key's state is its last entry: no search.
        let atNewest = atRev >= currentRevision
        if atNewest && (countOnly || limit > 0) {
            // Count from the index's per-chunk tallies and visit only the
            // keys returned, instead of walking the whole range.
            count = index.countLive(from: key, to: end)
            guard !countOnly else { return ([], count) }
            index.forEach(from: key, to: end) { ki in
                guard let entry = ki.live else { return true }
                kvs.append(ki, entry, withValue: values)
                return kvs.count < limit
            }
            return (kvs.finish(from: valueSource), count)
        }
        index.forEach(from: key, to: end) { ki in
            guard let entry = atNewest ? ki.live : ki.get(atRev: atRev) else { return true }
            count += 1
            if !countOnly && (limit == 0 || kvs.count < limit) {
                kvs.append(ki, entry, withValue: values)
            }
            return true
        }
        return (kvs.finish(from: valueSource), count)
    }

    /// Orders results as etcd does: a target other than the key with no
    /// order sorts ascending; ties keep key order (the sort is stable).
    static func sort(
        _ kvs: inout [KeyValue], order: RangeRequest.SortOrder, target: RangeRequest.SortTarget
    ) {
        var order = order
        if target != .key && order == .none { order = .ascend }
        if order == .none || (order == .ascend && target == .key) { return }  // already in key order
        let less: (KeyValue, KeyValue) -> Bool
        switch target {
        case .key: less = { Bytes.less($0.key, $1.key) }
        case .version: less = { $0.version < $1.version }
        case .create: less = { $0.createRevision < $1.createRevision }
        case .mod: less = { $0.modRevision < $1.modRevision }
        case .value: less = { Bytes.less($0.value, $1.value) }
        }
        if order == .ascend {
            kvs.sort(by: less)
        } else {
            kvs.sort { less($1, $0) }
        }
    }
}
