import DailyReport
import Foundation
import Warehouse
import ZIPFoundation

/// What one claimed inbox entry uploads: a file is an upload of its own; a directory is ONE upload of its
/// regular files (sorted by name, not recursive, hidden and `.tmp`/`.part` files ignored); a `.zip` is ONE
/// upload of its files, extracted into a private temporary directory with limits (contract 1.1, section 5).
enum InboxUpload {
    /// The files to ingest, or why the entry is rejected without reading any report; `cleanup` is a
    /// temporary directory to remove afterwards.
    enum Prepared {
        case files([IngestFile], cleanup: String?)
        case rejected(FileRejected)
    }

    static func prepare(path: String, name: String) -> Prepared {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .rejected(problem(name, .io, "cannot read \(name)")) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return directory(path: path, name: name) }
        if name.lowercased().hasSuffix(".zip") { return zip(path: path, name: name) }
        return .files([IngestFile(path: path, displayName: name)], cleanup: nil)
    }

    static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part")
    }

    static func problem(_ file: String, _ rule: Rule, _ message: String) -> FileRejected {
        FileRejected(file: file, issues: [
            ValidationIssue(file: file, location: .wholeFile, field: nil, value: nil, rule: rule, message: message),
        ], isTruncated: false)
    }

    // MARK: directories

    static func directory(path: String, name: String) -> Prepared {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            return .rejected(problem(name, .io, "cannot list the directory \(name)"))
        }
        var files: [IngestFile] = []
        for entry in entries.sorted() where !isIgnored(entry) {
            var st = stat()
            // Regular files only: no subdirectories (not recursive), no symbolic links, no devices or pipes.
            guard lstat(path + "/" + entry, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            files.append(IngestFile(path: path + "/" + entry, displayName: "\(name)/\(entry)"))
        }
        guard !files.isEmpty else { return .rejected(problem(name, .io, "the directory \(name) holds no report file")) }
        return .files(files, cleanup: nil)
    }

    // MARK: zip files

    /// Limits on a zip upload (zip bombs): entries, total uncompressed bytes (counted while extracting, not
    /// trusted from the headers).
    struct ZipLimits: Sendable {
        var maxEntries = 1_000
        var maxTotalBytes: Int64 = 1 << 30
    }

    static func zip(path: String, name: String, limits: ZipLimits = ZipLimits()) -> Prepared {
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            return .rejected(problem(name, .io, "\(name) is not a readable zip file"))
        }
        var template = Array(FileManager.default.temporaryDirectory.appending(path: "dkpi-inbox-zip-XXXXXXXX").path.utf8CString)
        guard let made = mkdtemp(&template) else { return .rejected(problem(name, .io, "cannot create a temporary directory for \(name)")) }
        let directory = String(cString: made)
        do {
            let files = try extract(archive, name: name, into: directory, limits: limits)
            guard !files.isEmpty else { throw problem(name, .io, "the zip file \(name) holds no report file") }
            return .files(files, cleanup: directory)
        } catch let rejected as FileRejected {
            try? FileManager.default.removeItem(atPath: directory)
            return .rejected(rejected)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            return .rejected(problem(name, .io, "\(name) is not a readable zip file"))
        }
    }

    /// Checks every entry first (any unsafe one rejects the whole zip), then extracts the files, in the order of
    /// their paths, to `directory/N` (never to a path taken from the archive).
    static func extract(_ archive: Archive, name: String, into directory: String, limits: ZipLimits) throws -> [IngestFile] {
        var chosen: [(path: String, entry: Entry)] = []
        var count = 0
        var declared: Int64 = 0
        for entry in archive {
            count += 1
            guard count <= limits.maxEntries else {
                throw problem(name, .notAllowed, "the zip file \(name) has more than \(limits.maxEntries) entries")
            }
            let path = entry.path
            let components = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.hasPrefix("/"), !path.hasPrefix("\\"), !path.contains("\\"), !path.contains("\0"),
                  !(path.count >= 2 && path.dropFirst().first == ":"),
                  !components.contains(where: { $0 == ".." }) else {
                throw problem(name, .notAllowed, "the zip file \(name) has an entry with an absolute path or '..' (\(String(path.prefix(120)))); nothing was extracted")
            }
            switch entry.type {
            case .symlink:
                throw problem(name, .notAllowed, "the zip file \(name) has a symbolic link (\(String(path.prefix(120)))); nothing was extracted")
            case .directory:
                continue
            case .file:
                break
            }
            declared += Int64(clamping: entry.uncompressedSize)
            guard declared <= limits.maxTotalBytes else {
                throw problem(name, .fileTooLarge, "the zip file \(name) unpacks to more than \(limits.maxTotalBytes) bytes")
            }
            // Hidden files and folders (also `__MACOSX/` resource forks) are not reports.
            let trimmed = components.filter { !$0.isEmpty }
            if trimmed.contains(where: { isIgnored(String($0)) }) || trimmed.first == "__MACOSX" { continue }
            chosen.append((trimmed.joined(separator: "/"), entry))
        }
        chosen.sort { $0.path < $1.path }
        var files: [IngestFile] = []
        var total: Int64 = 0
        for (index, item) in chosen.enumerated() {
            let target = directory + "/\(index + 1)"
            let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            defer { close(fd) }
            let checksum = try archive.extract(item.entry, skipCRC32: false) { data in
                total += Int64(data.count)
                guard total <= limits.maxTotalBytes else {
                    throw problem(name, .fileTooLarge, "the zip file \(name) unpacks to more than \(limits.maxTotalBytes) bytes")
                }
                try data.withUnsafeBytes { raw in try writeAll(fd, raw) }
            }
            guard checksum == item.entry.checksum else {
                throw problem(name, .io, "the zip file \(name) is damaged (\(String(item.path.prefix(120))): checksum mismatch)")
            }
            files.append(IngestFile(path: target, displayName: "\(name)/\(item.path)"))
        }
        return files
    }
}
