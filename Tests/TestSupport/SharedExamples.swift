public import Foundation

/// The shared example corpus and its independently computed expected values (`shared/examples` next to the
/// project, or `DEALER_KPI_EXAMPLES`). CI always has it (`CI=true`); a checkout without it skips the tests
/// that need it, and `SharedExamples.missingUnderCI` lets a test fail CI when it is gone.
public enum SharedExamples {
    public static let directory: URL? = {
        let fm = FileManager.default
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["DEALER_KPI_EXAMPLES"] { candidates.append(URL(fileURLWithPath: env)) }
        let here = URL(fileURLWithPath: #filePath)
        candidates.append(here.deletingLastPathComponent().appendingPathComponent("../../../shared/examples").standardizedFileURL)
        candidates.append(here.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("../../../shared/examples").standardizedFileURL)
        return candidates.first { fm.fileExists(atPath: $0.appendingPathComponent("master/stores.csv").path) }
    }()

    /// True when running under CI and the examples are not there: the conformance check must not pass by
    /// being skipped.
    public static var missingUnderCI: Bool {
        directory == nil && ProcessInfo.processInfo.environment["CI"] == "true"
    }
}
