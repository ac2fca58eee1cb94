import Foundation
public import Logging
import Synchronization

/// Output format of log records.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// Sets up swift-log for the process (once). Logs go to standard error, so command output on standard
/// output stays machine-readable.
public enum LogSetup {
    private static let done = Mutex(false)

    public static func bootstrap(level: Logger.Level, format: LogFormat) {
        let first = done.withLock { d in
            defer { d = true }
            return !d
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler
            switch format {
            case .text: handler = StreamLogHandler.standardError(label: label)
            case .json: handler = JSONLogHandler(label: label)
            }
            handler.logLevel = level
            return handler
        }
    }
}

/// One JSON object per line on standard error: `ts`, `level`, `label`, `msg`, metadata flattened.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String
    private static let lock = Mutex(())

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: String] = [:]
        for (k, v) in metadata { object[k] = "\(v)" }
        if let extra = event.metadata { for (k, v) in extra { object[k] = "\(v)" } }
        object["ts"] = PostgresFreeTimestamp.now()
        object["level"] = event.level.rawValue
        object["label"] = label
        object["msg"] = "\(event.message)"
        object["source"] = event.source
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(0x0A)
        JSONLogHandler.lock.withLock { _ in FileHandle.standardError.write(data) }
    }
}

enum PostgresFreeTimestamp {
    static func now() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
