import Foundation
import Metrics

/// Every metric the daemon exports (Prometheus names; see `GET /metrics`). One place, so names stay
/// consistent and documented.
enum IngestMetrics {
    /// Reports (files or request bodies) by outcome and source (`inbox`, `http`).
    static func recordFile(source: String, accepted: Bool, duration: Duration, rows: Int, rejectedRules: [String]) {
        Counter(label: "dealer_kpi_reports_total", dimensions: [("source", source), ("outcome", accepted ? "accepted" : "rejected")]).increment()
        if accepted {
            Counter(label: "dealer_kpi_rows_ingested_total", dimensions: [("source", source)]).increment(by: rows)
        }
        for rule in Set(rejectedRules) {
            Counter(label: "dealer_kpi_rejections_total", dimensions: [("rule", rule)]).increment()
        }
        Metrics.Timer(label: "dealer_kpi_ingest_duration_seconds", dimensions: [("source", source)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// Store-days of accepted uploads that were duplicates (a re-sent report: nothing changed), by source:
    /// `dealer_kpi_ingest_duplicates_total{source}`.
    static func recordDuplicates(source: String, storeDays: Int) {
        guard storeDays > 0 else { return }
        Counter(label: "dealer_kpi_ingest_duplicates_total", dimensions: [("source", source)]).increment(by: storeDays)
    }
}

enum JobMetrics {
    static func recordRun(job: JobKind, status: String, duration: Duration) {
        Counter(label: "dealer_kpi_job_runs_total", dimensions: [("job", job.rawValue), ("status", status)]).increment()
        if status == "failed" {
            Counter(label: "dealer_kpi_job_failures_total", dimensions: [("job", job.rawValue)]).increment()
        }
        Metrics.Timer(label: "dealer_kpi_job_duration_seconds", dimensions: [("job", job.rawValue)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(duration.nanoseconds)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
