import DailyReport
import Foundation
public import Logging
public import Postgres
public import Warehouse

/// The operations behind `dealer-kpi load` and `dealer-kpi ingest`: run them and render what happened for
/// people (text) or programs (JSON). The CLI only parses arguments and prints.
public enum WarehouseCommands {
    public struct Output: Sendable {
        public var lines: [String]
        public var failed: Bool
    }

    public struct UsageError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func load(_ configuration: PostgresConfiguration, paths: [String], json: Bool, logger: Logger) async throws -> Output {
        let results = try await PoolScope.with(configuration, logger: logger) { pool in
            try await MasterDataLoader(pool: pool, logger: logger).load(paths: paths)
        }
        return render(results.map { r in
            var details: [String: Any] = ["rows": r.rows, "changed": r.changed]
            if let kind = r.kind { details["kind"] = kind.rawValue }
            return FileOutcome(file: r.file, rejection: r.rejection, details: details,
                               summary: "loaded \(r.file) (\(r.kind?.rawValue ?? "?")): \(r.rows) rows, \(r.changed) new or changed")
        }, json: json, rejectedNote: "nothing was loaded from it")
    }

    public static func ingest(_ configuration: PostgresConfiguration, paths: [String], receivedAt: String?, json: Bool,
                              settings: IngestSettings, logger: Logger) async throws -> Output {
        var moment: Date?
        if let receivedAt {
            guard let parsed = PostgresTimestamp.parse(receivedAt), receivedAt.contains("T") || receivedAt.contains(" ") else {
                throw UsageError(description: "--received-at must be an RFC 3339 time such as 2026-03-02T21:30:00+08:00, got \(receivedAt)")
            }
            moment = parsed
        }
        let results = try await PoolScope.with(configuration, logger: logger) { pool in
            try await ingestFiles(paths, receivedAt: moment, ingestor: ReportIngestor(pool: pool, settings: settings, logger: logger))
        }
        return render(results.map { r in
            var details: [String: Any] = [
                "store_days": r.storeDays.map { ["store": $0.store, "business_date": $0.businessDate.description, "version": $0.version] },
                "rows": ["visits": r.visitRows, "prospects": r.prospectRows, "sales": r.saleRows],
            ]
            if let at = r.receivedAt { details["received_at"] = PostgresTimestamp.format(at) }
            let days = r.storeDays.map { "\($0.store) \($0.businessDate) v\($0.version)" }.joined(separator: ", ")
            return FileOutcome(file: r.file, rejection: r.rejection, details: details,
                               summary: "accepted \(r.file): \(days); visits \(r.visitRows), prospects \(r.prospectRows), sales \(r.saleRows)")
        }, json: json, rejectedNote: "nothing was changed")
    }

    private static func ingestFiles(_ paths: [String], receivedAt: Date?, ingestor: ReportIngestor) async throws -> [IngestResult] {
        var results: [IngestResult] = []
        for path in paths {
            guard FileManager.default.isReadableFile(atPath: path) else {
                let name = (path as NSString).lastPathComponent
                results.append(.rejected(name, FileRejected(file: name, issues: [
                    ValidationIssue(file: name, location: .wholeFile, field: nil, value: nil, rule: .io, message: "cannot read \(path)"),
                ], isTruncated: false)))
                continue
            }
            results.append(try await ingestor.ingest(path: path, receivedAt: receivedAt))
        }
        return results
    }

    /// What one file came to, for rendering.
    struct FileOutcome {
        var file: String
        var rejection: FileRejected?
        /// JSON members for an accepted file.
        var details: [String: Any]
        /// The text line for an accepted file.
        var summary: String
    }

    /// Text: one line per file, a rejected file followed by its problems. JSON: one array of objects.
    static func render(_ outcomes: [FileOutcome], json: Bool, rejectedNote: String) -> Output {
        let failed = outcomes.contains { $0.rejection != nil }
        if json {
            let objects: [[String: Any]] = outcomes.map { r in
                var o: [String: Any] = ["file": r.file, "accepted": r.rejection == nil]
                if let rej = r.rejection {
                    o["errors"] = rej.issues.map(issueObject)
                    o["errors_truncated"] = rej.isTruncated
                } else {
                    o.merge(r.details) { current, _ in current }
                }
                return o
            }
            return Output(lines: [jsonText(objects)], failed: failed)
        }
        var lines: [String] = []
        for r in outcomes {
            if let rej = r.rejection {
                lines.append("rejected \(r.file): \(rej.issues.count)\(rej.isTruncated ? "+" : "") problem(s); \(rejectedNote)")
                lines += rej.issues.map { "  \($0)" }
            } else {
                lines.append(r.summary)
            }
        }
        return Output(lines: lines, failed: failed)
    }

    /// One machine-readable error: file, line or JSON path, field, value, rule, message.
    static func issueObject(_ issue: ValidationIssue) -> [String: Any] {
        var o: [String: Any] = ["file": issue.file, "rule": issue.rule.rawValue, "message": issue.message]
        switch issue.location {
        case .line(let l): o["line"] = l
        case .jsonPath(let p): o["path"] = p
        case .textPosition(let l, let c): o["line"] = l; o["column"] = c
        case .wholeFile: break
        }
        if let f = issue.field { o["field"] = f }
        if let v = issue.value { o["value"] = v }
        return o
    }

    static func jsonText(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
