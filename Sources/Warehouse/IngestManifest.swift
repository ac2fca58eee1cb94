public import Foundation
import Postgres

/// A `manifest.json` of ingest steps (the shared examples' and `dealer-kpi generate`'s format):
/// `[{"files": ["csv/…", "reports/…"], "received_at": "2026-03-02T21:30:00+08:00", "kind": "resend"}, …]`.
/// Each step is one upload: its files arrived together, at `received_at` (contract 1.1, section 5). Paths
/// are relative to the manifest's directory; other members (`kind`) are informational. Value type.
public struct IngestManifest: Sendable, Hashable {
    public struct Step: Sendable, Hashable {
        /// Absolute or manifest-relative paths resolved against the manifest's directory.
        public var paths: [String]
        public var receivedAt: Date
        /// What the step is, when the manifest says (`resend`, `section`, `correction`...).
        public var kind: String?
    }

    public var steps: [Step]

    /// Reads and checks the whole manifest before anything is ingested: a clear error names the step and
    /// member that is wrong.
    public static func read(path: String) throws -> IngestManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ManifestError("cannot read the manifest \(path)")
        }
        guard let array = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw ManifestError("\(path): a manifest is a JSON array of steps ({\"files\": [...], \"received_at\": \"RFC 3339 time\"})")
        }
        let base = (path as NSString).deletingLastPathComponent
        var steps: [Step] = []
        for (index, element) in array.enumerated() {
            guard let step = element as? [String: Any] else {
                throw ManifestError("\(path): step \(index) ($[\(index)]) is not an object")
            }
            guard let files = step["files"] as? [String], !files.isEmpty else {
                throw ManifestError("\(path): $[\(index)].files must be a non-empty array of file paths")
            }
            guard let text = step["received_at"] as? String, let at = PostgresTimestamp.parse(text), text.contains("T") || text.contains(" ") else {
                throw ManifestError("\(path): $[\(index)].received_at must be an RFC 3339 time such as 2026-03-02T21:30:00+08:00")
            }
            let paths = files.map { $0.hasPrefix("/") ? $0 : (base.isEmpty ? $0 : base + "/" + $0) }
            steps.append(Step(paths: paths, receivedAt: at, kind: step["kind"] as? String))
        }
        return IngestManifest(steps: steps)
    }
}

/// A manifest that cannot be used; nothing was ingested.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
