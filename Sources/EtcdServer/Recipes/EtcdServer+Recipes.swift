import MVCC

/// What etcd's Lock and Election services share. etcd runs them as clients
/// of itself (clientv3/concurrency's Mutex and Election over an in-process
/// client), so here they are written against the member's public entry
/// points — `txn`, `range`, `deleteRange`, `leaseGrant` and a watch of the
/// hub — and are `nonisolated`: every write goes through Raft as a client's
/// does (a follower forwards it), every read is linearizable, and every
/// call checks the caller's permissions from the request's credentials.
extension EtcdServer {
    /// TTL of the lease a lock or election request without one gets
    /// (clientv3/concurrency's default session TTL).
    static let recipeSessionTTL: Int64 = 60

    /// The lease of clientv3/concurrency's session as etcd's services open
    /// it: the one given, or for none (0) a new 60 s lease that nobody keeps
    /// alive (etcd orphans the session). An unknown lease is not checked
    /// here: the write that uses it fails with `lease not found`.
    nonisolated func recipeLease(_ requested: Int64) async throws(EtcdError) -> Int64 {
        guard requested == 0 else { return requested }
        return try await leaseGrant(id: 0, ttl: Self.recipeSessionTTL).0.id
    }

    /// A waiter's key: the prefix and the lease in hex (Go's `%x` of the
    /// signed ID).
    static func recipeKey(prefix: [UInt8], lease: Int64) -> [UInt8] {
        prefix + Array(String(lease, radix: 16).utf8)
    }

    /// Waits until every key under `prefix` created at or before
    /// `maxCreateRevision` is gone (clientv3/concurrency's `waitDeletes`):
    /// the newest such key is waited for first, then the range is read again.
    /// Returns the header of the read that found none.
    nonisolated func waitDeletes(prefix: [UInt8], maxCreateRevision: Int64) async throws(EtcdError) -> ResponseHeader {
        while true {
            let (response, header) = try await range(
                RangeRequest(
                    key: prefix, rangeEnd: KeyRange.prefixEnd(prefix), limit: 1, sortOrder: .descend,
                    sortTarget: .create, maxCreateRevision: maxCreateRevision))
            guard let newest = response.kvs.first else { return header }
            try await waitForDelete(of: newest.key, after: header.revision)
        }
    }

    /// Waits for a delete of `key` after `revision`, at which it existed.
    /// (etcd watches from `revision` itself; nothing can delete a key at a
    /// revision where it exists, and starting one later lets the watcher
    /// start in sync when `revision` is the newest.)
    nonisolated func waitForDelete(of key: [UInt8], after revision: Int64) async throws(EtcdError) {
        let (stream, signal) = try await openRecipeWatch(KeyRange(key: key), from: revision + 1)
        var watch = RecipeWatch(server: self, stream: stream, signal: signal)
        do {
            while !(try await watch.nextEvents().events.contains { $0.kind == .delete }) {}
        } catch {
            await watch.close()
            throw error
        }
        await watch.close()
    }

    /// Runs cleanup that etcd runs with its own, uncancelled context after a
    /// request's wait failed: in a task of its own, which the request's
    /// cancellation does not reach but which keeps the caller's credentials
    /// (so with auth on, unlike etcd's cleanup, it is allowed to delete).
    /// Its failure is ignored, as etcd ignores it; the key's lease still
    /// bounds its life.
    nonisolated func cleanUpAfterFailedWait(_ work: @escaping @Sendable () async throws(EtcdError) -> Void) async {
        await Task { try? await work() }.value
    }
}

extension KeyRange {
    /// The end of the range of every key starting with `prefix` (clientv3's
    /// `GetPrefixRangeEnd`): the prefix with its last byte below 0xff
    /// incremented and what follows dropped; `[0]` (no end) if none is.
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }
}
