#!/usr/bin/env bash
# Proves our Protos/ are wire-compatible with etcd 3.4's .proto files.
#
# Compiles both sets to FileDescriptorSets with protoc, decodes them to text
# with descriptor.proto, and compares, for packages mvccpb, authpb,
# etcdserverpb, v3lockpb and v3electionpb:
#   - every message (incl. nested): fields' name, number, type, label,
#     type_name and oneof membership
#   - every enum: value names and numbers
#   - every service: methods' name, input, output, client/server streaming
# Exits 0 and prints a summary when they match; otherwise lists differences.
#
# Needs: protoc (protobuf-compiler, with /usr/include/google/protobuf),
# etcd 3.4 sources (golang-etcd-server-dev), gogoproto
# (golang-github-gogo-protobuf-dev) and google/api/annotations.proto
# (shipped with golang-github-grpc-ecosystem-grpc-gateway-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
gosrc=${GOSRC:-/usr/share/gocode/src}
etcd="$gosrc/go.etcd.io/etcd"

find_include() { # $1 = relative path to find, rest = candidate roots
  local rel=$1; shift
  for d in "$@"; do [ -f "$d/$rel" ] && { echo "$d"; return 0; }; done
  local hit
  hit=$(find "$gosrc" /usr/include -path "*/$rel" 2>/dev/null | head -n1 || true)
  [ -n "$hit" ] && { echo "${hit%/$rel}"; return 0; }
  echo "check-proto: cannot find $rel" >&2; return 1
}

command -v protoc >/dev/null || { echo "check-proto: protoc not found (apt-get install protobuf-compiler)" >&2; exit 2; }
[ -f "$etcd/etcdserver/etcdserverpb/rpc.proto" ] || { echo "check-proto: etcd 3.4 sources not found under $etcd" >&2; exit 2; }
desc_inc=$(find_include google/protobuf/descriptor.proto /usr/include)
gogo_inc=$(find_include gogoproto/gogo.proto "$gosrc/github.com/gogo/protobuf")
gapi_inc=$(find_include google/api/annotations.proto \
  "$gosrc/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

protoc -I"$gosrc/go.etcd.io" -I"$gogo_inc" -I"$gapi_inc" -I"$desc_inc" \
  --include_imports --descriptor_set_out="$tmp/etcd.pb" \
  etcd/mvcc/mvccpb/kv.proto etcd/auth/authpb/auth.proto \
  etcd/etcdserver/etcdserverpb/rpc.proto \
  etcd/etcdserver/api/v3lock/v3lockpb/v3lock.proto \
  etcd/etcdserver/api/v3election/v3electionpb/v3election.proto

ours=$(cd Protos && find . -name '*.proto' | sed 's|^\./||' | sort)
(cd Protos && protoc -I. -I"$desc_inc" --fatal_warnings \
  --include_imports --descriptor_set_out="$tmp/ours.pb" $ours)

for s in etcd ours; do
  protoc -I"$desc_inc" --decode=google.protobuf.FileDescriptorSet \
    google/protobuf/descriptor.proto < "$tmp/$s.pb" > "$tmp/$s.txt"
done

python3 - "$tmp/etcd.txt" "$tmp/ours.txt" <<'PY'
import sys

PACKAGES = {"mvccpb", "authpb", "etcdserverpb", "v3lockpb", "v3electionpb"}

def parse(path):
    """Parse protobuf text format into nested dicts of lists."""
    root = {}
    stack = [root]
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            if line == "}":
                stack.pop()
            elif line.endswith("{"):
                node = {}
                stack[-1].setdefault(line[:-1].strip(), []).append(node)
                stack.append(node)
            else:
                key, _, val = line.partition(":")
                val = val.strip()
                if val.startswith('"'):
                    val = val[1:-1]
                stack[-1].setdefault(key.strip(), []).append(val)
    return root

def one(node, key, default=""):
    return node.get(key, [default])[0]

def summarize(path):
    msgs, enums, svcs = {}, {}, {}

    def walk_enum(e, prefix):
        enums[prefix + one(e, "name")] = sorted(
            (one(v, "name"), int(one(v, "number"))) for v in e.get("value", []))

    def walk_msg(m, prefix):
        full = prefix + one(m, "name")
        oneofs = [one(o, "name") for o in m.get("oneof_decl", [])]
        fields = {}
        for fd in m.get("field", []):
            oi = one(fd, "oneof_index", None)
            fields[one(fd, "name")] = (
                int(one(fd, "number")), one(fd, "type"), one(fd, "label"),
                one(fd, "type_name"), oneofs[int(oi)] if oi is not None else "",
                one(fd, "proto3_optional", "false"))
        msgs[full] = fields
        for nm in m.get("nested_type", []):
            walk_msg(nm, full + ".")
        for ne in m.get("enum_type", []):
            walk_enum(ne, full + ".")

    for fdesc in parse(path).get("file", []):
        pkg = one(fdesc, "package")
        if pkg not in PACKAGES:
            continue
        if one(fdesc, "syntax", "proto2") != "proto3":
            msgs["<syntax of %s>" % one(fdesc, "name")] = {"syntax": one(fdesc, "syntax", "proto2")}
        for m in fdesc.get("message_type", []):
            walk_msg(m, pkg + ".")
        for e in fdesc.get("enum_type", []):
            walk_enum(e, pkg + ".")
        for s in fdesc.get("service", []):
            svcs[pkg + "." + one(s, "name")] = {
                one(md, "name"): (one(md, "input_type"), one(md, "output_type"),
                                  one(md, "client_streaming", "false"),
                                  one(md, "server_streaming", "false"))
                for md in s.get("method", [])}
    return msgs, enums, svcs

ref, our = summarize(sys.argv[1]), summarize(sys.argv[2])
diffs = []
for kind, r, o in zip(("message", "enum", "service"), ref, our):
    for name in sorted(set(r) | set(o)):
        if name not in o:
            diffs.append("missing %s %s" % (kind, name)); continue
        if name not in r:
            diffs.append("extra %s %s (not in etcd 3.4)" % (kind, name)); continue
        a, b = r[name], o[name]
        if isinstance(a, dict):
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    diffs.append("%s %s member %s: etcd=%s ours=%s"
                                 % (kind, name, k, a.get(k), b.get(k)))
        elif a != b:
            diffs.append("%s %s: etcd=%s ours=%s" % (kind, name, a, b))

if diffs:
    print("proto check FAILED: %d difference(s)" % len(diffs))
    for d in diffs:
        print("  " + d)
    sys.exit(1)
print("proto check: %d messages, %d services match etcd 3.4 (%d enums, %d methods)"
      % (len(ref[0]), len(ref[2]), len(ref[1]), sum(len(s) for s in ref[2].values())))
PY
