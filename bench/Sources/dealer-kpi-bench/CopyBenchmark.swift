import Foundation
import LocalPostgres
import Postgres

/// bench/copy: rows/s of `PostgresConnection.copyFrom` vs `psql \copy` of the same rows into the same
/// table, same server, same run. Rows look like visit facts (codes, Chinese text, dates, booleans).
struct CopyBenchmark {
    let rows: Int
    let workdir: URL
    let repetitions = 3

    func run() async throws {
        let cluster = try BenchCluster.start(in: workdir)
        let admin = try await PostgresConnection.connect(cluster.configuration())
        _ = try? await admin.executeScript("DROP DATABASE IF EXISTS bench_copy")
        try await admin.executeScript("CREATE DATABASE bench_copy")
        await admin.close()
        let conn = try await PostgresConnection.connect(cluster.configuration(database: "bench_copy"))
        let table = "CREATE TABLE visit (store_code text, business_date date, visit_id text, channel text, purpose text, salesperson_code text, model_code text, party_size int, new_card text, test_drive boolean, note text)"
        try await conn.executeScript(table)

        // The same rows for both: generated once, written as a COPY text file for psql.
        let data = makeRows()
        let file = workdir.appending(path: "copy-rows.tsv")
        try writeCopyFile(data, to: file)
        let fileBytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0

        var ours: [Double] = []
        var baseline: [Double] = []
        for _ in 0..<repetitions {
            try await conn.executeScript("TRUNCATE visit; CHECKPOINT")
            baseline.append(try BenchCluster.psql(cluster, database: "bench_copy", command: "\\copy visit FROM '\(file.path)'"))
            let n = try await conn.query("SELECT count(*) FROM visit")[0].decode(Int.self, column: 0)
            guard n == rows else { throw BenchError("psql copied \(n) rows, expected \(rows)") }

            try await conn.executeScript("TRUNCATE visit; CHECKPOINT")
            let started = Date()
            let copied = try await conn.copyFrom("COPY visit FROM STDIN") { writer in
                for r in data {
                    for f in r { try writer.appendField(f) }
                    try writer.endRow()
                }
            }
            ours.append(Date().timeIntervalSince(started))
            guard copied == rows else { throw BenchError("copyFrom stored \(copied) rows, expected \(rows)") }
        }
        await conn.close()
        try? FileManager.default.removeItem(at: file)

        let oursRate = Double(rows) / median(ours)
        let baseRate = Double(rows) / median(baseline)
        print("copy: \(rows) rows (\(fileBytes) bytes as COPY text), \(repetitions) runs each, medians: ours \(String(format: "%.3f", median(ours))) s, psql \\copy \(String(format: "%.3f", median(baseline))) s")
        print(jsonLine([
            "bench": "copy", "rows": rows, "bytes": fileBytes, "runs": repetitions,
            "ours_seconds": ours, "baseline_seconds": baseline,
            "ours_rows_per_s": Int(oursRate), "baseline_rows_per_s": Int(baseRate),
            "ratio": (oursRate / baseRate * 1000).rounded() / 1000,
            "goal": ">= 0.8",
        ]))
    }

    private func makeRows() -> [[String?]] {
        let channels = ["walk_in", "phone", "event"], purposes = ["purchase", "purchase", "purchase", "after_sales", "other"]
        let models = ["S50", "T55", "E30", "S70", "T77", "E60", "T99", "M8", "X9"]
        var out: [[String?]] = []
        out.reserveCapacity(rows)
        for i in 0..<rows {
            let store = "ST\(String(i % 500).leftPadded(3))"
            let day = 1 + (i / 500) % 28
            out.append([
                store, "2026-03-\(String(day).leftPadded(2))", "V\(i)", channels[i % 3], purposes[i % 5],
                "\(store)-S\(String(i % 12).leftPadded(2))", i % 17 == 0 ? nil : models[i % models.count], String(1 + i % 4),
                i % 3 == 0 ? "A-\(store)-\(i)" : nil, i % 4 == 0 ? "t" : "f", i % 5 == 0 ? "客户关注\t油耗\\续航" : "来店看车",
            ])
        }
        return out
    }

    private func writeCopyFile(_ data: [[String?]], to url: URL) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        for r in data {
            for (k, f) in r.enumerated() {
                if k > 0 { buffer.append(0x09) }
                guard let f else { buffer.append(contentsOf: [0x5C, 0x4E]); continue }
                for b in f.utf8 {
                    switch b {
                    case 0x5C: buffer.append(contentsOf: [0x5C, 0x5C])
                    case 0x09: buffer.append(contentsOf: [0x5C, 0x74])
                    case 0x0A: buffer.append(contentsOf: [0x5C, 0x6E])
                    case 0x0D: buffer.append(contentsOf: [0x5C, 0x72])
                    default: buffer.append(b)
                    }
                }
            }
            buffer.append(0x0A)
            if buffer.count > 1 << 20 {
                try handle.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: buffer)
        try handle.close()
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
