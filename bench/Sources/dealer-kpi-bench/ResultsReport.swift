import Foundation

/// `dealer-kpi-bench results`: renders bench/RESULTS.md from the records bench/run leaves in bench/out
/// (one `NAME.json` per benchmark: when, commit, machine, exit status and the benchmark's last JSON line).
///
/// The summary names, per benchmark, the figures its issue asks for next to the baseline measured in the
/// same run and the goal; every figure the benchmark printed follows in its own section, flattened
/// (`phases.0.latency_ms.p99`), so nothing is hidden by the summary's choice.
struct ResultsReport {
    let directory: URL
    let output: URL

    /// A summary line: a label and the flattened key of the figure (first present key wins).
    struct Headline {
        let label: String
        let keys: [String]
        var goal: String = ""
    }

    static let headlines: [String: [Headline]] = [
        "copy": [
            Headline(label: "our COPY rows/s", keys: ["ours_rows_per_s"]),
            Headline(label: "psql \\copy rows/s (baseline)", keys: ["baseline_rows_per_s"]),
            Headline(label: "ratio", keys: ["ratio"], goal: ">= 0.8"),
        ],
        "ingest": [
            Headline(label: "our ingest rows/s (end to end)", keys: ["ours_rows_per_s"]),
            Headline(label: "psql \\copy rows/s (baseline)", keys: ["psql_copy_rows_per_s"]),
            Headline(label: "ratio vs \\copy", keys: ["ratio_vs_copy"], goal: ">= 0.5"),
            Headline(label: "INSERT per row rows/s (baseline)", keys: ["insert_rows_per_s"]),
            Headline(label: "speed-up vs INSERT per row", keys: ["speedup_vs_insert"], goal: ">= 20"),
            Headline(label: "speed-up vs INSERT per row over TCP", keys: ["speedup_vs_insert_tcp", "tcp.speedup_vs_insert"]),
            Headline(label: "ratio vs \\copy of each back-to-back pair", keys: ["ratio_vs_copy_pairs"]),
            Headline(label: "peak RSS MB at 500,000 rows", keys: ["peak_rss_mb.500000"], goal: "flat"),
            Headline(label: "peak RSS MB at 1,000,000 rows", keys: ["peak_rss_mb.1000000"], goal: "flat"),
        ],
        "aggregate": [
            Headline(label: "full rebuild s", keys: ["full_rebuild_seconds"]),
            Headline(label: "floor: one GROUP BY of store-day visits s (baseline)", keys: ["floor_group_by_seconds"]),
            Headline(label: "full / floor", keys: ["full_vs_floor_ratio"], goal: "<= 3"),
            Headline(label: "write floor: the same rows into an identically indexed table s", keys: ["write_floor_seconds"]),
            Headline(label: "full / write floor", keys: ["full_vs_write_floor_ratio"]),
            Headline(label: "incremental after one new day s", keys: ["incremental_seconds"]),
            Headline(label: "incremental / full", keys: ["incremental_vs_full"], goal: "<= 0.02"),
            Headline(label: "league table from bi / from facts", keys: ["league_table_ratio_bi_vs_facts"], goal: "report"),
        ],
        "faults": [
            Headline(label: "kills survived", keys: ["kills"], goal: ">= 20"),
            Headline(label: "kills that landed mid-ingest", keys: ["kills_mid_ingest"]),
            Headline(label: "kills that landed mid-refresh", keys: ["kills_mid_refresh"]),
            Headline(label: "database outage s", keys: ["db_outage_seconds"], goal: "30"),
            Headline(label: "files", keys: ["files"]),
            Headline(label: "rows compared with the clean run", keys: ["rows_compared"]),
            Headline(label: "mismatches", keys: ["mismatches"], goal: "0"),
        ],
        "load": [
            Headline(label: "clients", keys: ["clients"]),
            Headline(label: "accepted uploads/s at saturation", keys: ["saturation.accepted_uploads_per_s"]),
            Headline(label: "latency p50 ms at saturation", keys: ["saturation.latency_ms.p50"]),
            Headline(label: "latency p99 ms at saturation", keys: ["saturation.latency_ms.p99"]),
            Headline(label: "freshness p50 s at saturation", keys: ["saturation.freshness_s.p50"]),
            Headline(label: "freshness p99 s at saturation", keys: ["saturation.freshness_s.p99"]),
            Headline(label: "paced phase: offered uploads/s", keys: ["paced.offered_uploads_per_s"]),
            Headline(label: "paced phase: latency p99 ms", keys: ["paced.latency_ms.p99"]),
            Headline(label: "paced phase: freshness p50 s", keys: ["paced.freshness_s.p50"], goal: "seconds"),
            Headline(label: "paced phase: freshness p99 s", keys: ["paced.freshness_s.p99"], goal: "seconds"),
            Headline(label: "serial in-process ingest uploads/s (baseline)", keys: ["baseline.uploads_per_s"]),
            Headline(label: "saturation / baseline", keys: ["saturation_over_baseline"]),
            Headline(label: "unexpected responses", keys: ["unexpected"], goal: "0"),
        ],
        "fuzz": [
            Headline(label: "json target: executions", keys: ["targets.0.execs"]),
            Headline(label: "csv target: executions", keys: ["targets.1.execs"]),
            Headline(label: "master target: executions", keys: ["targets.2.execs"]),
            Headline(label: "json vs Foundation target: executions", keys: ["targets.3.execs"]),
            Headline(label: "crashes (all targets)", keys: ["crashes_total"], goal: "0"),
        ],
    ]

    static let order = ["copy", "ingest", "aggregate", "faults", "load", "fuzz"]

    func run() throws {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" && $0.lastPathComponent != "machine.json" }
        var records: [String: [String: Any]] = [:]
        for file in files {
            guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any],
                  let name = object["name"] as? String else {
                throw BenchError("\(file.path): not a bench/run record")
            }
            records[name] = object
        }
        let names = Self.order.filter { records[$0] != nil } + records.keys.filter { !Self.order.contains($0) }.sorted()

        var md = """
            # Benchmark results

            Written by [`bench/run`](run) (`bench/run` runs them all; `bench/run NAME` refreshes one section). Every
            ratio compares with a baseline measured **in the same run, on the same machine**; absolute figures
            depend on the machine and on what else it was doing (the load average at the start is given).
            How each benchmark works is in the header of its script (`bench/NAME`).

            ## Summary

            | benchmark | figure | value | goal |
            |---|---|---|---|

            """
        for name in names {
            let record = records[name]!
            let figures = flatten(record["figures"] ?? [:])
            if (record["exit_status"] as? Int ?? 0) != 0 {
                md += "| \(name) | **failed** (exit status \(record["exit_status"]!)) — see bench/out/\(name).log | | |\n"
            }
            for headline in Self.headlines[name] ?? [] {
                guard let value = headline.keys.lazy.compactMap({ figures[$0] }).first else { continue }
                md += "| \(name) | \(headline.label) | \(value) | \(headline.goal) |\n"
            }
        }
        for name in names {
            let record = records[name]!
            md += "\n## \(name)\n\n"
            md += "Run \(record["started"] ?? "?") at commit `\(record["commit"] ?? "?")`, \(record["seconds"] ?? "?") s"
            if let arguments = record["arguments"] as? String, !arguments.isEmpty { md += ", arguments `\(arguments)`" }
            md += ", exit status \(record["exit_status"] ?? "?").\n"
            if let machine = record["machine"] as? [String: Any] {
                md += "Machine: \(machine["cpu"] ?? "?"), \(machine["cores"] ?? "?") cores, \(machine["memory_gib"] ?? "?") GiB, "
                md += "\(machine["kernel"] ?? "?"), \(machine["postgresql"] ?? "?"), \(machine["swift"] ?? "?"); "
                md += "load average at start \(machine["load_average"] ?? "?").\n"
            }
            md += "\n| figure | value |\n|---|---|\n"
            for (key, value) in flatten(record["figures"] ?? [:]).sorted(by: { $0.key < $1.key }) {
                md += "| `\(key)` | \(value) |\n"
            }
        }
        try Data(md.utf8).write(to: output)
    }

    /// Nested objects and arrays as `a.b.0.c` keys; values as text.
    func flatten(_ value: Any, prefix: String = "") -> [String: String] {
        var out: [String: String] = [:]
        switch value {
        case let object as [String: Any]:
            for (key, child) in object {
                out.merge(flatten(child, prefix: prefix.isEmpty ? key : "\(prefix).\(key)")) { a, _ in a }
            }
        case let array as [Any]:
            if array.allSatisfy({ !($0 is [String: Any]) && !($0 is [Any]) }) {
                out[prefix] = array.map { text($0) }.joined(separator: ", ")
            } else {
                for (i, child) in array.enumerated() {
                    out.merge(flatten(child, prefix: "\(prefix).\(i)")) { a, _ in a }
                }
            }
        default:
            out[prefix] = text(value)
        }
        return out
    }

    private func text(_ value: Any) -> String {
        // swift-corelibs-foundation's JSONSerialization gives Bool, Int and Double for JSON literals.
        if let b = value as? Bool, type(of: value) == Bool.self { return b ? "true" : "false" }
        if let i = value as? Int, type(of: value) == Int.self { return String(i) }
        if let d = value as? Double {
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return String(format: abs(d) >= 100 ? "%.1f" : (abs(d) >= 1 ? "%.3g" : "%.4g"), d)
        }
        return "\(value)".replacingOccurrences(of: "|", with: "\\|")
    }
}
