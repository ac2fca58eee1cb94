import Foundation

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR; throws the POSIX error otherwise. For the
/// private temporary files uploads are received into (HTTP parts, inbox zip entries).
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        offset += n
    }
}
