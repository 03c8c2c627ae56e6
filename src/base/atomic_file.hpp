// Atomic file writes: write a temporary file beside the target, fsync it, rename it over the target and fsync
// the directory. A crash leaves either the old file or the new one, never a torn one.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace faxd::base {

Result<void> WriteFileAtomically(const std::filesystem::path& target, std::span<const std::byte> data);
Result<void> WriteFileAtomically(const std::filesystem::path& target, std::string_view data);

// For producers that write a file themselves (libtiff, a child process): they write to TempPath(), then
// Commit() makes it durable and visible under the target name. Destroying an uncommitted writer removes the
// temporary file.
class AtomicFile {
public:
    static Result<AtomicFile> Create(const std::filesystem::path& target);
    AtomicFile(AtomicFile&& other) noexcept;
    AtomicFile& operator=(AtomicFile&& other) noexcept;
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile();

    const std::filesystem::path& TempPath() const { return temp_; }
    const std::filesystem::path& TargetPath() const { return target_; }
    Result<void> Commit();

private:
    AtomicFile(std::filesystem::path target, std::filesystem::path temp);
    std::filesystem::path target_;
    std::filesystem::path temp_;
    bool committed_ = false;
};

// fsync of a file or a directory by path.
Result<void> SyncPath(const std::filesystem::path& path);

}  // namespace faxd::base
