import EtcdServer
import Foundation
import MVCC

// Translation between etcd's protobuf messages and the server's value types.
// Kept free of policy: validation and semantics live in EtcdServer and MVCC.

extension Etcdserverpb_ResponseHeader {
    init(_ h: ResponseHeader) {
        self.init()
        clusterID = h.clusterID
        memberID = h.memberID
        revision = h.revision
        raftTerm = h.raftTerm
    }
}

extension Mvccpb_KeyValue {
    init(_ kv: KeyValue) {
        self.init()
        key = Data(kv.key)
        createRevision = kv.createRevision
        modRevision = kv.modRevision
        version = kv.version
        value = Data(kv.value)
        lease = kv.lease
    }
}

extension RangeRequest {
    init(_ r: Etcdserverpb_RangeRequest) {
        let order: RangeRequest.SortOrder =
            switch r.sortOrder {
            case .ascend: .ascend
            case .descend: .descend
            default: .none
            }
        let target: RangeRequest.SortTarget =
            switch r.sortTarget {
            case .version: .version
            case .create: .create
            case .mod: .mod
            case .value: .value
            default: .key
            }
        self.init(
            key: [UInt8](r.key), rangeEnd: [UInt8](r.rangeEnd), limit: r.limit, revision: r.revision,
            sortOrder: order, sortTarget: target, serializable: r.serializable,
            keysOnly: r.keysOnly, countOnly: r.countOnly,
            minModRevision: r.minModRevision, maxModRevision: r.maxModRevision,
            minCreateRevision: r.minCreateRevision, maxCreateRevision: r.maxCreateRevision)
    }
}

extension Etcdserverpb_RangeResponse {
    init(_ r: RangeResponse, header h: ResponseHeader?) {
        self.init()
        if let h { header = .init(h) }
        kvs = r.kvs.map(Mvccpb_KeyValue.init)
        more = r.more
        count = r.count
    }
}

extension PutRequest {
    init(_ r: Etcdserverpb_PutRequest) {
        self.init(
            key: [UInt8](r.key), value: [UInt8](r.value), lease: r.lease, prevKv: r.prevKv,
            ignoreValue: r.ignoreValue, ignoreLease: r.ignoreLease)
    }
}

extension Etcdserverpb_PutResponse {
    init(_ r: PutResponse, header h: ResponseHeader?) {
        self.init()
        if let h { header = .init(h) }
        if let prev = r.prevKv { prevKv = .init(prev) }
    }
}

extension DeleteRangeRequest {
    init(_ r: Etcdserverpb_DeleteRangeRequest) {
        self.init(key: [UInt8](r.key), rangeEnd: [UInt8](r.rangeEnd), prevKv: r.prevKv)
    }
}

extension Etcdserverpb_DeleteRangeResponse {
    init(_ r: DeleteRangeResponse, header h: ResponseHeader?) {
        self.init()
        if let h { header = .init(h) }
        deleted = r.deleted
        prevKvs = r.prevKvs.map(Mvccpb_KeyValue.init)
    }
}

extension Compare {
    /// etcd compares the field named by `target`, reading its constant from
    /// the union (absent or mismatched union → the zero value).
    init(_ c: Etcdserverpb_Compare) {
        let result: Compare.Result =
            switch c.result {
            case .greater: .greater
            case .less: .less
            case .notEqual: .notEqual
            default: .equal
            }
        let target: Compare.Target =
            switch c.target {
            case .create: .createRevision(c.createRevision)
            case .mod: .modRevision(c.modRevision)
            case .value: .value([UInt8](c.value))
            case .lease: .lease(c.lease)
            default: .version(c.version)
            }
        self.init(key: [UInt8](c.key), rangeEnd: [UInt8](c.rangeEnd), target: target, result: result)
    }
}

extension RequestOp {
    /// nil for an op with no request set (etcd answers `key not found`).
    init?(_ op: Etcdserverpb_RequestOp) {
        switch op.request {
        case .requestRange(let r): self = .range(RangeRequest(r))
        case .requestPut(let r): self = .put(PutRequest(r))
        case .requestDeleteRange(let r): self = .deleteRange(DeleteRangeRequest(r))
        case .requestTxn(let r):
            guard let t = TxnRequest(r) else { return nil }
            self = .txn(t)
        case nil: return nil
        }
    }
}

extension TxnRequest {
    init?(_ r: Etcdserverpb_TxnRequest) {
        var success: [RequestOp] = []
        var failure: [RequestOp] = []
        for op in r.success {
            guard let o = RequestOp(op) else { return nil }
            success.append(o)
        }
        for op in r.failure {
            guard let o = RequestOp(op) else { return nil }
            failure.append(o)
        }
        self.init(compare: r.compare.map(Compare.init), success: success, failure: failure)
    }
}

extension Etcdserverpb_TxnResponse {
    /// Only the outer response's header names the cluster, member and term;
    /// etcd gives each nested response a header holding just its revision.
    init(_ r: TxnResponse, header h: ResponseHeader?) {
        self.init()
        if let h { header = .init(h) }
        succeeded = r.succeeded
        responses = r.responses.map { op in
            var out = Etcdserverpb_ResponseOp()
            switch op {
            case .range(let x): out.responseRange = .init(x, header: nestedHeader(x.revision))
            case .put(let x): out.responsePut = .init(x, header: nestedHeader(x.revision))
            case .deleteRange(let x): out.responseDeleteRange = .init(x, header: nestedHeader(x.revision))
            case .txn(let x): out.responseTxn = .init(x, header: nestedHeader(x.revision))
            }
            return out
        }
    }
}

private func nestedHeader(_ revision: Int64) -> ResponseHeader {
    ResponseHeader(clusterID: 0, memberID: 0, revision: revision, raftTerm: 0)
}
