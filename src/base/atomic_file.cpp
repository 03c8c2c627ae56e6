#include "base/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace faxd::base {
namespace {

// mkstemp in the target's directory, so rename() stays within one file system.
Result<std::filesystem::path> MakeTempBeside(const std::filesystem::path& target, int* fd_out) {
    std::string pattern = (target.parent_path() / ("." + target.filename().string() + ".tmpXXXXXX")).string();
    const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) return ErrnoError("cannot create temporary file for " + target.string(), errno);
    *fd_out = fd;
    return std::filesystem::path(pattern);
}

Result<void> WriteAll(int fd, const std::byte* data, std::size_t size, const std::filesystem::path& path) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return ErrnoError("cannot write " + path.string(), errno);
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return {};
}

Result<void> RenameAndSyncDir(const std::filesystem::path& temp, const std::filesystem::path& target) {
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        const int error = errno;
        ::unlink(temp.c_str());
        return ErrnoError("cannot rename " + temp.string() + " to " + target.string(), error);
    }
    const auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    return SyncPath(dir);
}

}  // namespace

Result<void> SyncPath(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("cannot open " + path.string() + " for fsync", errno);
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) return ErrnoError("cannot fsync " + path.string(), error);
    return {};
}

Result<void> WriteFileAtomically(const std::filesystem::path& target, std::span<const std::byte> data) {
    int fd = -1;
    auto temp = MakeTempBeside(target, &fd);
    if (!temp) return tl::unexpected(temp.error());
    auto written = WriteAll(fd, data.data(), data.size(), *temp);
    if (written && ::fsync(fd) != 0) written = ErrnoError("cannot fsync " + temp->string(), errno);
    ::close(fd);
    if (!written) {
        ::unlink(temp->c_str());
        return written;
    }
    return RenameAndSyncDir(*temp, target);
}

Result<void> WriteFileAtomically(const std::filesystem::path& target, std::string_view data) {
    return WriteFileAtomically(target, std::as_bytes(std::span<const char>(data.data(), data.size())));
}

AtomicFile::AtomicFile(std::filesystem::path target, std::filesystem::path temp)
    : target_(std::move(target)), temp_(std::move(temp)) {}

Result<AtomicFile> AtomicFile::Create(const std::filesystem::path& target) {
    int fd = -1;
    auto temp = MakeTempBeside(target, &fd);
    if (!temp) return tl::unexpected(temp.error());
    ::close(fd);
    return AtomicFile(target, *temp);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : target_(std::move(other.target_)), temp_(std::move(other.temp_)), committed_(other.committed_) {
    other.committed_ = true;  // the moved-from object owns nothing
}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
    if (this != &other) {
        if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
        target_ = std::move(other.target_);
        temp_ = std::move(other.temp_);
        committed_ = other.committed_;
        other.committed_ = true;
    }
    return *this;
}

AtomicFile::~AtomicFile() {
    if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

Result<void> AtomicFile::Commit() {
    if (committed_) return MakeError(ErrorCode::kInternal, "atomic file already committed: " + target_.string());
    if (auto synced = SyncPath(temp_); !synced) return synced;
    committed_ = true;
    return RenameAndSyncDir(temp_, target_);
}

}  // namespace faxd::base
