public import Foundation
import DailyReport
import Postgres
import Warehouse

/// The exit statuses of every `dealer-kpi` command, so scripts can tell what to do next (README, "Exit
/// statuses"). Values follow BSD `sysexits.h` where it has one.
public enum CommandExit {
    /// Success.
    public static let success: Int32 = 0
    /// Data was rejected (a report, master-data file or upload); nothing of the rejected part was stored.
    public static let rejectedData: Int32 = 1
    /// The command line is wrong (EX_USAGE): fix the call, do not retry it as it is.
    public static let usage: Int32 = 64
    /// An internal error (EX_SOFTWARE): a bug or an unexpected state; the log says what.
    public static let internalError: Int32 = 70
    /// Temporary (EX_TEMPFAIL): the database cannot be reached, went away, or a timeout or cancellation
    /// ended the work (which rolled back). Retrying later is safe: a re-sent report is a duplicate.
    public static let temporary: Int32 = 75
    /// Configuration (EX_CONFIG): wrong password, unknown database or role, a missing secret.
    public static let configuration: Int32 = 78

    /// The status for an error that ended a command; nil for errors the argument parser reports itself
    /// (its own usage errors: 64; `ExitCode`: as given).
    public static func status(for error: any Error) -> Int32? {
        switch error {
        case let error as PostgresError:
            if let state = error.sqlState,
               [SQLState.invalidPassword, .invalidAuthorizationSpecification, .invalidCatalogName].contains(state) {
                return configuration
            }
            switch error.kind {
            case .connectionFailed, .connectionLost, .timeout, .poolClosed, .cancelled: return temporary
            default: break
            }
            if let state = error.sqlState, state == .cannotConnectNow || state == .adminShutdown || state == .crashShutdown
                || state == .queryCanceled || state == .lockNotAvailable || state.errorClass == "08" {
                return temporary
            }
            return internalError
        case is WarehouseCommands.UsageError, is ManifestError:
            return usage
        case let error as WarehouseError:
            if case .configuration = error { return configuration }
            return internalError
        case is FileRejected:
            return rejectedData
        case is CancellationError:
            return temporary
        default:
            return nil
        }
    }
}

/// The version `dealer-kpi --version` prints.
public enum DealerKPIVersion {
    public static let current = "0.12.0 (daily-report contract 1.1)"
}
