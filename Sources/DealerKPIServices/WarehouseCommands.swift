import DailyReport
import Foundation
public import Logging
public import Postgres
public import Warehouse

/// The operations behind `dealer-kpi load` and `dealer-kpi ingest`: run them and render what happened for
/// people (text) or programs (JSON). The CLI only parses arguments and prints.
public enum WarehouseCommands {
    public struct UsageError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Prints one line, at once (a caller watching a long load sees each file as it commits).
    public typealias Emit = @Sendable (String) -> Void

    /// `dealer-kpi load`: one line per file as it commits (JSON Lines with `json`); true when any file was
    /// rejected.
    public static func load(_ configuration: PostgresConfiguration, paths: [String], json: Bool, logger: Logger,
                            emit: @escaping Emit) async throws -> Bool {
        let results = try await PoolScope.with(configuration, logger: logger) { pool in
            try await MasterDataLoader(pool: pool, logger: logger).load(paths: paths) { r in
                var details: [String: Any] = ["rows": r.rows, "changed": r.changed]
                if let kind = r.kind { details["kind"] = kind.rawValue }
                let outcome = FileOutcome(file: r.file, rejection: r.rejection, details: details,
                                          summary: "loaded \(r.file) (\(r.kind?.rawValue ?? "?")): \(r.rows) rows, \(r.changed) new or changed")
                render(outcome, json: json, rejectedNote: "nothing was loaded from it").forEach(emit)
            }
        }
        return results.contains { !$0.isAccepted }
    }

    /// `dealer-kpi ingest`: the files given are one upload (one receipt time, one transaction: contract 1.1);
    /// with `manifest`, every step of the manifest is an upload of its own with the step's receipt time, and
    /// ingest stops at the first rejected step. One line per file as its upload commits (JSON Lines with
    /// `json`); true when anything was rejected.
    public static func ingest(_ configuration: PostgresConfiguration, paths: [String], manifest: String? = nil, receivedAt: String?,
                              json: Bool, settings: IngestSettings, logger: Logger, emit: @escaping Emit) async throws -> Bool {
        var moment: Date?
        if let receivedAt {
            guard manifest == nil else {
                throw UsageError(description: "--received-at and --manifest exclude each other: the manifest gives each step's receipt time")
            }
            guard let parsed = PostgresTimestamp.parse(receivedAt), receivedAt.contains("T") || receivedAt.contains(" ") else {
                throw UsageError(description: "--received-at must be an RFC 3339 time such as 2026-03-02T21:30:00+08:00, got \(receivedAt)")
            }
            moment = parsed
        }
        var uploads: [(paths: [String], receivedAt: Date?)] = []
        if let manifest {
            guard paths.isEmpty else { throw UsageError(description: "give either report files or --manifest, not both") }
            do {
                uploads = try IngestManifest.read(path: manifest).steps.map { ($0.paths, $0.receivedAt) }
            } catch let error as ManifestError {
                throw UsageError(description: error.description)
            }
        } else {
            guard !paths.isEmpty else { throw UsageError(description: "no report files given (or use --manifest FILE)") }
            uploads = [(paths, moment)]
        }
        return try await PoolScope.with(configuration, logger: logger) { pool in
            let ingestor = ReportIngestor(pool: pool, settings: settings, logger: logger)
            for (index, upload) in uploads.enumerated() {
                let result = try await ingestor.ingest(upload: upload.paths.map { IngestFile(path: $0) }, receivedAt: upload.receivedAt)
                for file in result.files {
                    render(outcome(file, step: manifest == nil ? nil : index + 1), json: json, rejectedNote: "nothing of its upload was stored").forEach(emit)
                }
                if !result.isAccepted {
                    if manifest != nil, index + 1 < uploads.count {
                        let note = "stopped at step \(index + 1) of \(uploads.count): the later steps were not ingested"
                        emit(json ? jsonText(["stopped_at_step": index + 1, "steps": uploads.count, "message": note]) : note)
                    }
                    return true
                }
            }
            return false
        }
    }

    static func outcome(_ r: IngestResult, step: Int?) -> FileOutcome {
        var details: [String: Any] = [
            "duplicate": r.isDuplicate,
            "store_days": r.storeDays.map {
                ["store": $0.store, "business_date": $0.businessDate.description, "version": $0.version, "duplicate": $0.duplicate] as [String: Any]
            },
            "rows": ["visits": r.visitRows, "prospects": r.prospectRows, "sales": r.saleRows],
        ]
        if let at = r.receivedAt { details["received_at"] = PostgresTimestamp.format(at) }
        if let step { details["step"] = step }
        let days = r.storeDays.map { "\($0.store) \($0.businessDate) v\($0.version)\($0.duplicate ? " (duplicate)" : "")" }.joined(separator: ", ")
        let verb = r.isDuplicate ? "duplicate, nothing changed:" : "accepted"
        return FileOutcome(file: r.file, rejection: r.rejection, details: details,
                           summary: "\(step.map { "step \($0): " } ?? "")\(verb) \(r.file): \(days); visits \(r.visitRows), prospects \(r.prospectRows), sales \(r.saleRows)")
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

    /// Text: one line for the file, a rejected file followed by its problems. JSON: one line, one object.
    static func render(_ r: FileOutcome, json: Bool, rejectedNote: String) -> [String] {
        if json {
            var o: [String: Any] = ["file": r.file, "accepted": r.rejection == nil]
            if let rej = r.rejection {
                o["errors"] = rej.issues.map(issueObject)
                o["errors_truncated"] = rej.isTruncated
            } else {
                o.merge(r.details) { current, _ in current }
            }
            return [jsonText(o)]
        }
        guard let rej = r.rejection else { return [r.summary] }
        return ["rejected \(r.file): \(rej.issues.count)\(rej.isTruncated ? "+" : "") problem(s); \(rejectedNote)"]
            + rej.issues.map { "  \($0)" }
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
