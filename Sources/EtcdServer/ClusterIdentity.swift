import Crypto

/// etcd derives member and cluster IDs deterministically, so that every
/// member computes the same IDs from the same `--initial-cluster` and
/// `--initial-cluster-token` without talking to the others.
public enum ClusterIdentity {
    /// A member's ID: the first 8 bytes (big-endian) of SHA-1 over its sorted
    /// peer URLs concatenated, followed by the cluster token.
    public static func memberID(peerURLs: [String], token: String) -> UInt64 {
        var bytes: [UInt8] = []
        for url in peerURLs.sorted() { bytes.append(contentsOf: Array(url.utf8)) }
        bytes.append(contentsOf: Array(token.utf8))
        return firstWord(of: bytes)
    }

    /// The cluster's ID: SHA-1 over the members' IDs in ascending order, each
    /// as 8 big-endian bytes.
    public static func clusterID(memberIDs: [UInt64]) -> UInt64 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(memberIDs.count * 8)
        for id in memberIDs.sorted() {
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: id >> UInt64(shift)))
            }
        }
        return firstWord(of: bytes)
    }

    private static func firstWord(of bytes: [UInt8]) -> UInt64 {
        let digest = Array(Insecure.SHA1.hash(data: bytes))
        return digest.prefix(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }
}
