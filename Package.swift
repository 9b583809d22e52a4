// swift-tools-version:6.1
import PackageDescription

/// Dependencies point one way: swift-etcd → EtcdAPI → EtcdServer → (Raft, Storage, MVCC).
let package = Package(
    name: "SwiftEtcd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swift-etcd", targets: ["swift-etcd"]),
        .executable(name: "raft-sim", targets: ["raft-sim"]),
        .executable(name: "swift-etcd-bench", targets: ["swift-etcd-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        // The lean gRPC server's HTTP/2 (the version grpc-swift-nio-transport resolves to).
        .package(url: "https://github.com/apple/swift-nio-http2", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // Pure consensus core: no I/O, clocks, threads or ambient randomness.
        .target(name: "Raft"),
        // The system LMDB library (liblmdb-dev), wrapped by Storage/Backend.
        .systemLibrary(name: "CLMDB", providers: [.apt(["liblmdb-dev"]), .brew(["lmdb"])]),
        // Write-ahead log, snapshots and the on-disk MVCC backend.
        .target(name: "Storage", dependencies: ["CLMDB"]),
        // The system libcrypt (libxcrypt), for etcd's bcrypt password hashes.
        .systemLibrary(name: "CCrypt", providers: [.apt(["libcrypt-dev"])]),
        // Revisioned key-value store, key index, watch hub, lessor.
        .target(name: "MVCC"),
        // The node: drives Raft with storage and transport, applies to MVCC.
        .target(
            name: "EtcdServer",
            dependencies: [
                "Raft", "Storage", "MVCC",
                // bcrypt (etcd's password hashes, from restored snapshots).
                .target(name: "CCrypt", condition: .when(platforms: [.linux])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                // PBKDF2 for password hashes (Auth/PasswordHash.swift).
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                // etcd's server metrics (Metrics/ServerMetrics.swift).
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // etcd's v3 gRPC services: thin adapters plus the generated code.
        .target(
            name: "EtcdAPI",
            dependencies: [
                "EtcdServer", "MVCC",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                // One client port for gRPC and HTTP/1.1 (Listener/, HTTP/,
                // Gateway/): the JSON gateway, /health, /version, /metrics.
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // The lean gRPC server (LeanGRPC/): HTTP/2 frames, no stream channels.
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ],
            exclude: ["Generated/README.md"]
        ),
        .executableTarget(
            name: "swift-etcd",
            dependencies: [
                "EtcdAPI", "EtcdServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // A load generator for any etcd v3 server (etcd's `benchmark` vocabulary),
        // so etcd and swift-etcd are measured by the same client.
        .executableTarget(
            name: "swift-etcd-bench",
            dependencies: [
                "EtcdAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .target(name: "RaftTestSupport", dependencies: ["Raft"]),
        // Seeded whole-cluster Raft simulator: `swift run raft-sim --seeds N`.
        .executableTarget(name: "raft-sim", dependencies: ["Raft", "RaftTestSupport"]),
        .testTarget(name: "RaftTests", dependencies: ["Raft", "RaftTestSupport"]),
        .testTarget(name: "MVCCTests", dependencies: ["MVCC"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage"]),
        .testTarget(name: "EtcdServerTests", dependencies: ["EtcdServer", "MVCC", "Storage", "Raft", "RaftTestSupport"]),
        .testTarget(
            name: "TransportTests",
            dependencies: [
                "EtcdServer", "Raft",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The lean gRPC server's frame handling, driven through EmbeddedChannel.
        .testTarget(
            name: "EtcdAPITests",
            dependencies: [
                "EtcdAPI", "EtcdServer",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "EtcdAPI",
                // HTTP2PingAnswererTests drives the handler in an EmbeddedChannel.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            exclude: ["Oracle"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
