#!/usr/bin/env bash
# Regenerates the Swift code for our etcd v3 .proto files (Protos/) into
# Sources/EtcdAPI/Generated. Uses Debian's protoc and the Swift plugins built
# once from the package mirror into .build-protoc-tools (~2 minutes).
# CI never runs this: the generated code is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.build-protoc-tools"
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }

mkdir -p "$tools/pkg"
cat > "$tools/pkg/Package.swift" <<'PKG'
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "ProtocTools",
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [.target(name: "Empty", path: "Empty")]
)
PKG
mkdir -p "$tools/pkg/Empty" && echo "" > "$tools/pkg/Empty/empty.swift"
if [ ! -x "$tools/bin/protoc-gen-grpc-swift-2" ] || [ ! -x "$tools/bin/protoc-gen-swift" ]; then
  echo "building protoc plugins (release, about 2 minutes)..."
  (cd "$tools/pkg" && swift build -c release --product protoc-gen-swift \
      && swift build -c release --product protoc-gen-grpc-swift-2)
  mkdir -p "$tools/bin"
  bin=$(cd "$tools/pkg" && swift build -c release --show-bin-path)
  cp "$bin/protoc-gen-swift" "$bin/protoc-gen-grpc-swift-2" "$tools/bin/"
fi

out="$root/Sources/EtcdAPI/Generated"
find "$out" -name '*.swift' -delete 2>/dev/null || true
mkdir -p "$out"
protos=$(cd Protos && find . -name '*.proto' | sed 's|^\./||' | sort)
(cd Protos && protoc \
  --plugin=protoc-gen-swift="$tools/bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$tools/bin/protoc-gen-grpc-swift-2" \
  --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Public --grpc-swift-2_opt=FileNaming=PathToUnderscores \
  $protos)
echo "generated: $(ls "$out"/*.swift | wc -l) Swift files in $out"
