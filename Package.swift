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
                "CivilCalendar",
                "Postgres",
                "LocalPostgres",
                "CorpusGenerator",
                .product(name: "Logging", package: "swift-log"),
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
            dependencies: ["DailyReport", "CivilCalendar"],
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
        // Shared by the integration tests: one throwaway cluster per test process.
        .target(
            name: "TestSupport",
            dependencies: ["Postgres", "LocalPostgres", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: strictSwift
        ),
    ]
)
