import MVCC
import Storage

/// Filling a new, empty backend from a snapshot, in our record format:
/// versions in batches as they are read, then everything else with the
/// applied index in one last transaction, synced.
extension MVCCBackend {
    /// The state around the versions, once they are all written.
    struct ImportedState {
        var consistentIndex: UInt64
        var currentRevision: Int64
        /// -1 when the snapshot was never compacted.
        var compactRevision: Int64
        /// The compaction whose deletions were finished (-1: none).
        var finishedCompactRevision: Int64
        var leases: [KVStore.StoredLease]
        var members: [Member]
        var alarms: [AlarmMember]
        var auth: AuthStore
    }

    /// Writes `versions` (in revision order, continuing earlier batches)
    /// in one transaction.
    func importVersions(_ versions: [KVStore.StoredVersion]) throws {
        try storage.write { tx in
            for version in versions {
                try tx.put(Self.revisionKey(version), Self.encodeValue(version), in: Buckets.key)
            }
        }
    }

    /// Writes the rest and syncs: after this the backend loads like one a
    /// member committed with `state.consistentIndex` applied.
    func importState(_ state: ImportedState) throws {
        try storage.write { tx in
            for lease in state.leases { try tx.put(Self.encode(lease.id), Self.encode(lease.ttl), in: Buckets.lease) }
            try Self.writeClusterState(&tx, members: state.members, alarms: state.alarms)
            try Self.writeAuth(&tx, state.auth)
            try tx.put(MetaKey.currentRevision, Self.encode(state.currentRevision), in: Buckets.meta)
            try tx.put(MetaKey.compactRevision, Self.encode(state.compactRevision), in: Buckets.meta)
            if state.finishedCompactRevision > 0 {
                try tx.put(
                    MetaKey.finishedCompactRevision, Self.encode(state.finishedCompactRevision), in: Buckets.meta)
            }
            try tx.put(MetaKey.consistentIndex, Self.encode(state.consistentIndex), in: Buckets.meta)
        }
        try sync()
    }
}
