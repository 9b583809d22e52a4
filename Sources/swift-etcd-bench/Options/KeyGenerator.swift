import Foundation

/// Chooses the key for each request: decimal, zero-padded to `keySize`, so
/// keys are readable in `etcdctl get` and sort in numeric order.
struct KeyGenerator: Sendable {
    let keySize: Int
    let keySpaceSize: Int
    let sequential: Bool
    var prefix: Data = Data()

    /// The key for request number `request` (0-based).
    func key(forRequest request: Int) -> Data {
        let index = sequential ? request % keySpaceSize : Int.random(in: 0..<keySpaceSize)
        return key(at: index)
    }

    /// The key at position `index` of the key space.
    func key(at index: Int) -> Data {
        let digits = Array(String(index).utf8)
        var key = prefix
        key.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, keySize - digits.count)))
        key.append(contentsOf: digits)
        return key
    }
}

/// etcd's key-range conventions.
enum KeyRange {
    /// The range end that selects every key starting with `prefix`
    /// (etcd's `GetPrefixRangeEnd`): the prefix with its last byte that is
    /// not 0xff incremented, and what follows dropped; `\0` (all keys from
    /// the prefix on) when every byte is 0xff.
    static func prefixEnd(_ prefix: Data) -> Data {
        var end = Array(prefix)
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return Data(end)
            }
            end.removeLast()
        }
        return Data([0])
    }
}
