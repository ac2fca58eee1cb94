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
        let pool = PostgresConnectionPool(configuration: configuration, options: .init(maximumConnections: 1), logger: logger)
        defer { Task { await pool.shutdown() } }
        let results = try await MasterDataLoader(pool: pool, logger: logger).load(paths: paths)
        let failed = results.contains { !$0.isAccepted }
        if json {
            let objects: [[String: Any]] = results.map { r in
                var o: [String: Any] = ["file": r.file, "accepted": r.isAccepted, "rows": r.rows, "changed": r.changed]
                if let k = r.kind { o["kind"] = k.rawValue }
                if let rej = r.rejection { o["errors"] = rej.issues.map(issueObject); o["errors_truncated"] = rej.isTruncated }
                return o
            }
            return Output(lines: [jsonText(objects)], failed: failed)
        }
        var lines: [String] = []
        for r in results {
            if let rej = r.rejection {
                lines.append("rejected \(r.file): \(rej.issues.count)\(rej.isTruncated ? "+" : "") problem(s); nothing was loaded from it")
                lines += rej.issues.map { "  \($0)" }
            } else {
                lines.append("loaded \(r.file) (\(r.kind?.rawValue ?? "?")): \(r.rows) rows, \(r.changed) new or changed")
            }
        }
        return Output(lines: lines, failed: failed)
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
        let pool = PostgresConnectionPool(configuration: configuration, options: .init(maximumConnections: 1), logger: logger)
        defer { Task { await pool.shutdown() } }
        let ingestor = ReportIngestor(pool: pool, settings: settings, logger: logger)
        var results: [IngestResult] = []
        for path in paths {
            guard FileManager.default.isReadableFile(atPath: path) else {
                let name = (path as NSString).lastPathComponent
                results.append(.rejected(name, FileRejected(file: name, issues: [
                    ValidationIssue(file: name, location: .wholeFile, field: nil, value: nil, rule: .io, message: "cannot read \(path)"),
                ], isTruncated: false)))
                continue
            }
            results.append(try await ingestor.ingest(path: path, receivedAt: moment))
        }
        let failed = results.contains { !$0.isAccepted }
        if json {
            let objects: [[String: Any]] = results.map { r in
                var o: [String: Any] = ["file": r.file, "accepted": r.isAccepted]
                if r.isAccepted {
                    o["store_days"] = r.storeDays.map { ["store": $0.store, "business_date": $0.businessDate.description, "version": $0.version] }
                    o["rows"] = ["visits": r.visitRows, "prospects": r.prospectRows, "sales": r.saleRows]
                    if let at = r.receivedAt { o["received_at"] = PostgresTimestamp.format(at) }
                }
                if let rej = r.rejection { o["errors"] = rej.issues.map(issueObject); o["errors_truncated"] = rej.isTruncated }
                return o
            }
            return Output(lines: [jsonText(objects)], failed: failed)
        }
        var lines: [String] = []
        for r in results {
            if let rej = r.rejection {
                lines.append("rejected \(r.file): \(rej.issues.count)\(rej.isTruncated ? "+" : "") problem(s); nothing was changed")
                lines += rej.issues.map { "  \($0)" }
            } else {
                let days = r.storeDays.map { "\($0.store) \($0.businessDate) v\($0.version)" }.joined(separator: ", ")
                lines.append("accepted \(r.file): \(days); visits \(r.visitRows), prospects \(r.prospectRows), sales \(r.saleRows)")
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
