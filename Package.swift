// swift-tools-version:6.1
// Ferry: a self-hosted help desk migration pipeline.
// Five thin stage executables over library targets that tests call directly.
import Foundation
import PackageDescription

let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ferry-extract", targets: ["ferry-extract"]),
        .executable(name: "ferry-dedupe", targets: ["ferry-dedupe"]),
        .executable(name: "ferry-map", targets: ["ferry-map"]),
        .executable(name: "ferry-load", targets: ["ferry-load"]),
        .executable(name: "ferry-verify", targets: ["ferry-verify"]),
        .library(name: "FerryCore", targets: ["FerryCore"]),
        .library(name: "FerryStages", targets: ["FerryStages"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        // libarchive, from the system (Debian: libarchive-dev). Bundles are tar (pax) + zstd.
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        // Canonical model, bundle format, checkpoints, configuration, errors.
        .target(
            name: "FerryCore",
            dependencies: [
                "CArchive",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                // scrypt, for passphrase-encrypted bundles in the age format.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Source connector: a folder in the shape of Zendesk's JSON export.
        .target(name: "FerryZendesk", dependencies: ["FerryCore"]),
        // Target connector: the SQLite help desk archive (also read back by verify).
        .target(
            name: "FerrySQLite",
            dependencies: [
                "FerryCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // HTTP for API connectors: bounded concurrency, timeouts, retries with jittered
        // backoff (429, 5xx, connection errors; Retry-After), credentials never logged.
        .target(
            name: "FerryHTTP",
            dependencies: [
                "FerryCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // The local ID map and loaded-parts store that the API targets (RT, Zendesk) share.
        .target(
            name: "FerryAPITarget",
            dependencies: [
                "FerryCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Request Tracker 5 over its REST2 API: target (load, verify) and source (extract).
        .target(
            name: "FerryRT",
            dependencies: [
                "FerryCore", "FerryHTTP", "FerryAPITarget",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Zendesk over its REST API: source (incremental exports) and target (Ticket Import).
        .target(
            name: "FerryZendeskAPI",
            dependencies: [
                "FerryCore", "FerryZendesk", "FerryHTTP", "FerryAPITarget",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The five stages: extract, dedupe, map, load, verify.
        .target(
            name: "FerryStages",
            dependencies: [
                "FerryCore", "FerryZendesk", "FerrySQLite", "FerryRT", "FerryZendeskAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Shared command-line options and the exit-code policy of every executable.
        .target(
            name: "FerryCLI",
            dependencies: [
                "FerryCore", "FerryStages",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "ferry-extract", dependencies: ["FerryCLI"]),
        .executableTarget(name: "ferry-dedupe", dependencies: ["FerryCLI"]),
        .executableTarget(name: "ferry-map", dependencies: ["FerryCLI"]),
        .executableTarget(name: "ferry-load", dependencies: ["FerryCLI"]),
        .executableTarget(name: "ferry-verify", dependencies: ["FerryCLI"]),
        .testTarget(
            name: "FerryTests",
            dependencies: [
                "FerryCore", "FerryZendesk", "FerrySQLite", "FerryStages", "FerryHTTP", "FerryRT", "FerryZendeskAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)

// Fuzz targets (Tests/Fuzz/README.md, `make fuzz`): only when FERRY_FUZZ=1, so the
// normal build never sees them or their flags. They link libFuzzer and ASan; the
// Ferry libraries they drive get the same flags, so libFuzzer sees their coverage.
if ProcessInfo.processInfo.environment["FERRY_FUZZ"] == "1" {
    let sanitize = ["-sanitize=fuzzer,address"]
    for target in package.targets where ["FerryCore", "FerryZendesk", "FerryStages"].contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(sanitize)]
    }
    let fuzzers: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzRecordDecoder", ["FerryCore", "FerryZendesk", "FerryStages"]),
        ("FuzzBundleReader", ["FerryCore"]),
    ]
    for fuzzer in fuzzers {
        package.targets.append(.executableTarget(
            name: fuzzer.name,
            dependencies: fuzzer.dependencies,
            path: "Sources/Fuzz/\(fuzzer.name)",
            swiftSettings: [.unsafeFlags(sanitize + ["-parse-as-library"])],
            linkerSettings: [.unsafeFlags(sanitize)]
        ))
        package.products.append(.executable(name: fuzzer.name, targets: [fuzzer.name]))
    }
}
