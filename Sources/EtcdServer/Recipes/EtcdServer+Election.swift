import MVCC

/// etcd's `v3electionpb.Election` service (etcd 3.4's `v3election`, which
/// runs clientv3/concurrency's Election inside the server). An election
/// named `name` is the keys under `name/`, one per campaigner,
/// `name/<lease in hex>`, holding its value and attached to its lease: the
/// key created first is the leader, its value what the leader proclaims.
extension EtcdServer {
    /// Campaigns in `name` for `lease` (none: a new 60 s lease) with
    /// `value`, waiting until every key under `name/` created before this
    /// one is deleted. Returns the claim, and the header of the write that
    /// entered the campaign.
    ///
    /// A lease that campaigns already keeps its key (and its place); a
    /// different value is proclaimed on it first. If the client goes away
    /// while waiting, the key is deleted, as etcd's Election does.
    public nonisolated func campaign(name: [UInt8], lease requested: Int64, value: [UInt8]) async throws(EtcdError)
        -> (leader: LeaderKey, header: ResponseHeader)
    {
        let lease = try await recipeLease(requested)
        let prefix = name + [UInt8(ascii: "/")]
        let key = Self.recipeKey(prefix: prefix, lease: lease)
        let (response, header) = try await txn(
            TxnRequest(
                compare: [Compare(key: key, target: .createRevision(0), result: .equal)],
                success: [.put(PutRequest(key: key, value: value, lease: lease))],
                failure: [.range(RangeRequest(key: key))]))
        var leader = LeaderKey(name: name, key: key, revision: header.revision, lease: lease)
        if !response.succeeded, case .range(let mine) = response.responses.first, let kv = mine.kvs.first {
            leader.revision = kv.createRevision
            if kv.value != value {
                do {
                    _ = try await putIfLeader(leader, value: value)
                } catch {
                    _ = try? await deleteIfLeader(leader)
                    throw error
                }
            }
        }
        do {
            _ = try await waitDeletes(prefix: prefix, maxCreateRevision: leader.revision - 1)
        } catch {
            if Task.isCancelled {
                await cleanUpAfterFailedWait { [leader] () async throws(EtcdError) in
                    _ = try await self.deleteIfLeader(leader)
                }
            }
            throw error
        }
        return (leader, header)
    }

    /// Puts `value` on the leader's key, with its lease (none: a new 60 s
    /// lease, as etcd's session gives), if the key still is the one the
    /// claim names; otherwise `election: not leader`.
    public nonisolated func proclaim(_ leader: LeaderKey, value: [UInt8]) async throws(EtcdError) -> ResponseHeader {
        var leader = leader
        leader.lease = try await recipeLease(leader.lease)
        return try await putIfLeader(leader, value: value)
    }

    /// Deletes the leader's key if it still is the one the claim names; a
    /// lapsed claim is no error. (etcd opens a session for it too, so a
    /// claim without a lease costs a new 60 s lease here as well.)
    public nonisolated func resign(_ leader: LeaderKey) async throws(EtcdError) -> ResponseHeader {
        _ = try await recipeLease(leader.lease)
        return try await deleteIfLeader(leader)
    }

    /// The leader of `name`: the key under `name/` created first, or
    /// `election: no leader`.
    public nonisolated func electionLeader(name: [UInt8]) async throws(EtcdError) -> (KeyValue, ResponseHeader) {
        let (response, header) = try await range(Self.firstCreated(under: name + [UInt8(ascii: "/")]))
        guard let kv = response.kvs.first else { throw .electionNoLeader }
        return (kv, header)
    }

    /// Follows the leader of `name` until the task is cancelled: calls
    /// `onLeader` with the leader's key-value once there is one, again with
    /// each value it proclaims, and with each new leader. The header of an
    /// update is that of the watch response that carried it.
    ///
    /// As etcd's Observe does, a failed read or watch (no permission, no
    /// quorum, a compacted revision) ends the observation without an error;
    /// cancellation throws `CancellationError`; what `onLeader` throws is
    /// rethrown.
    public nonisolated func observeElection(
        name: [UInt8], onLeader: (KeyValue, ResponseHeader) async throws -> Void
    ) async throws {
        let prefix = name + [UInt8(ascii: "/")]
        do {
            while true {
                let (response, header) = try await range(Self.firstCreated(under: prefix))
                var leader: (kv: KeyValue, header: ResponseHeader)
                if let kv = response.kvs.first {
                    leader = (kv, header)
                } else {
                    leader = try await firstPut(under: prefix, after: header.revision)
                }
                try await onLeader(leader.kv, leader.header)
                try await followLeader(leader.kv.key, after: leader.header.revision, onLeader: onLeader)
            }
        } catch let error as EtcdError {
            if case .canceled = error { throw CancellationError() }
        }
    }

    // MARK: Helpers

    /// The oldest key under `prefix` (clientv3's `WithFirstCreate`).
    static func firstCreated(under prefix: [UInt8]) -> RangeRequest {
        RangeRequest(key: prefix, rangeEnd: KeyRange.prefixEnd(prefix), limit: 1, sortOrder: .ascend, sortTarget: .create)
    }

    nonisolated func putIfLeader(_ leader: LeaderKey, value: [UInt8]) async throws(EtcdError) -> ResponseHeader {
        let (response, header) = try await txn(
            TxnRequest(
                compare: [Compare(key: leader.key, target: .createRevision(leader.revision), result: .equal)],
                success: [.put(PutRequest(key: leader.key, value: value, lease: leader.lease))]))
        guard response.succeeded else { throw .electionNotLeader }
        return header
    }

    nonisolated func deleteIfLeader(_ leader: LeaderKey) async throws(EtcdError) -> ResponseHeader {
        try await txn(
            TxnRequest(
                compare: [Compare(key: leader.key, target: .createRevision(leader.revision), result: .equal)],
                success: [.deleteRange(DeleteRangeRequest(key: leader.key))])
        ).1
    }

    /// Waits for the first put under `prefix` after `revision`, at which
    /// there was no key there. Its header's revision is the put's.
    private nonisolated func firstPut(under prefix: [UInt8], after revision: Int64) async throws(EtcdError) -> (
        kv: KeyValue, header: ResponseHeader
    ) {
        let (stream, signal) = try await openRecipeWatch(
            KeyRange(key: prefix, rangeEnd: KeyRange.prefixEnd(prefix)), from: revision + 1)
        var watch = RecipeWatch(server: self, stream: stream, signal: signal)
        do {
            while true {
                var (events, header) = try await watch.nextEvents()
                if let put = events.first(where: { $0.kind == .put }) {
                    await watch.close()
                    header.revision = put.kv.modRevision
                    return (put.kv, header)
                }
            }
        } catch {
            await watch.close()
            throw error
        }
    }

    /// Hands `onLeader` each put of the leader's `key` after `revision`,
    /// until the key is deleted.
    private nonisolated func followLeader(
        _ key: [UInt8], after revision: Int64, onLeader: (KeyValue, ResponseHeader) async throws -> Void
    ) async throws {
        let (stream, signal) = try await openRecipeWatch(KeyRange(key: key), from: revision + 1)
        var watch = RecipeWatch(server: self, stream: stream, signal: signal)
        do {
            following: while true {
                let (events, header) = try await watch.nextEvents()
                for event in events {
                    if event.kind == .delete { break following }
                    try await onLeader(event.kv, header)
                }
            }
        } catch {
            await watch.close()
            throw error
        }
        await watch.close()
    }
}

extension EtcdError {
    /// clientv3/concurrency's `ErrElectionNotLeader`, which etcd's Election
    /// service sends as it is (gRPC `Unknown`).
    public static let electionNotLeader = EtcdError.untranslated("election: not leader")
    /// clientv3/concurrency's `ErrElectionNoLeader`.
    public static let electionNoLeader = EtcdError.untranslated("election: no leader")
}
