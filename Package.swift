// swift-tools-version:6.1
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "dealer-kpi",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dealer-kpi", targets: ["dealer-kpi"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // multipart/form-data uploads (one part per report file) and zipped inbox uploads.
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // HTTP client of the bench/load driver (dealer-kpi-bench only; already in the graph through hummingbird's tests).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Layer 0: the C library. Imported by `Postgres` only.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        // A calendar date (no time, no zone): the Swift type for PostgreSQL `date` and for business dates.
        .target(name: "CivilCalendar", swiftSettings: strictSwift),
        // Layer 1: the Swift layer over libpq (connections, queries, COPY, LISTEN, pool, migrations).
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                "CivilCalendar",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),
        // Local PostgreSQL clusters (initdb + pg_ctl) for tests, benchmarks and the demo.
        .target(
            name: "LocalPostgres",
            dependencies: ["Postgres", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        // Layer 2a: the daily-report contract as pure Swift (parsing, field rules, counting rules).
        .target(
            name: "DailyReport",
            dependencies: ["CivilCalendar"],
            swiftSettings: strictSwift
        ),
        // Cron expressions evaluated in IANA time zones (DST-correct), for the scheduler.
        .target(name: "Cron", swiftSettings: strictSwift),
        // Synthetic corpora in the contract's formats, for the demo, tests and benchmarks.
        .target(name: "CorpusGenerator", dependencies: ["CivilCalendar"], swiftSettings: strictSwift),
        // Layer 2b: the warehouse domain (schema, ingest, aggregation, scoring).
        .target(
            name: "Warehouse",
            dependencies: [
                "Postgres",
                "DailyReport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift,
            plugins: ["EmbedSQL"]
        ),
        // Layer 3: the services (daemon, HTTP, scheduler, operations) and process set-up.
        .target(
            name: "DealerKPIServices",
            dependencies: [
                "Warehouse",
                "DailyReport",
                "CivilCalendar",
                "Cron",
                .product(name: "Crypto", package: "swift-crypto"),
                "Postgres",
                "LocalPostgres",
                "CorpusGenerator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: strictSwift
        ),
        // Layer 4: the thin command line.
        .executableTarget(
            name: "dealer-kpi",
            dependencies: [
                "DealerKPIServices",
                "Postgres",
                "Warehouse",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // Build tooling: embeds sql/*.sql into the Warehouse module so an installed binary finds them.
        .executableTarget(name: "sql-embedder", path: "Sources/sql-embedder"),
        .plugin(name: "EmbedSQL", capability: .buildTool(), dependencies: ["sql-embedder"]),

        .executableTarget(
            name: "dealer-kpi-bench",
            dependencies: [
                "Postgres",
                "LocalPostgres",
                "Warehouse",
                "DailyReport",
                "CorpusGenerator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "bench/Sources/dealer-kpi-bench",
            swiftSettings: strictSwift
        ),

        .testTarget(
            name: "PostgresTests",
            dependencies: ["Postgres", "LocalPostgres", "TestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "DailyReportTests",
            dependencies: ["DailyReport", "CivilCalendar", "TestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CorpusGeneratorTests",
            dependencies: ["CorpusGenerator", "CivilCalendar"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "WarehouseTests",
            dependencies: ["Warehouse", "Postgres", "LocalPostgres", "DailyReport", "CorpusGenerator", "CivilCalendar", "TestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(name: "CronTests", dependencies: ["Cron"], swiftSettings: strictSwift),
        .testTarget(
            name: "DealerKPIServicesTests",
            dependencies: [
                "DealerKPIServices", "Warehouse", "Postgres", "LocalPostgres", "CorpusGenerator", "CivilCalendar", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSwift
        ),
        // Shared by the integration tests: one throwaway cluster per test process.
        .target(
            name: "TestSupport",
            dependencies: ["Postgres", "LocalPostgres", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: strictSwift
        ),
    ]
)
