#include "store/spool.hpp"

#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "base/atomic_file.hpp"

namespace faxd::store {
namespace {

constexpr std::size_t kMaxName = 200;
constexpr std::size_t kMaxExtension = 8;

bool AllowedChar(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool IsAlnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

base::Result<std::string> RandomHex() {
    unsigned char random[16];
    std::size_t filled = 0;
    while (filled < sizeof random) {
        const ssize_t got = ::getrandom(random + filled, sizeof random - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return base::ErrnoError("getrandom", errno);
        }
        filled += static_cast<std::size_t>(got);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char byte : random) {
        hex += kHex[byte >> 4];
        hex += kHex[byte & 0xf];
    }
    return hex;
}

// mkdir, and when it created the directory, fsync its parent so the new entry survives a crash.
base::Result<void> EnsureDirectory(const std::filesystem::path& dir) {
    if (::mkdir(dir.c_str(), 0750) == 0) return base::SyncPath(dir.parent_path());
    if (errno == EEXIST) return {};
    return base::ErrnoError("cannot create spool directory " + dir.string(), errno);
}

}  // namespace

bool Spool::IsValidName(std::string_view name) {
    if (name.size() < 4 || name.size() > kMaxName || name.front() == '.') return false;
    if (name.find("..") != std::string_view::npos) return false;
    for (char c : name) {
        if (!AllowedChar(c)) return false;
    }
    // The fan-out directories come from the first four characters: they must be plain too.
    return name[2] != '.' && name[1] != '.' && name[3] != '.';
}

base::Result<Spool> Spool::Open(const std::filesystem::path& root) {
    std::error_code error;
    std::filesystem::create_directories(root, error);
    if (error)
        return base::MakeError(base::ErrorCode::kIo,
                               "cannot create spool " + root.string() + ": " + error.message());
    return Spool(root);
}

base::Result<std::filesystem::path> Spool::PathOf(std::string_view name) const {
    if (!IsValidName(name)) {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "not a spool document name: \"" + std::string(name.substr(0, 64)) + "\"");
    }
    return root_ / std::string(name.substr(0, 2)) / std::string(name.substr(2, 2)) / std::string(name);
}

base::Result<std::filesystem::path> Spool::NewTarget(std::string_view extension, std::string* name) {
    if (extension.size() > kMaxExtension) {
        return base::MakeError(base::ErrorCode::kInvalidArgument, "spool extension too long");
    }
    for (char c : extension) {
        if (!IsAlnum(c)) {
            return base::MakeError(base::ErrorCode::kInvalidArgument,
                                   "spool extension must be letters and digits: " + std::string(extension));
        }
    }
    for (;;) {
        auto hex = RandomHex();
        if (!hex) return tl::unexpected(hex.error());
        *name = extension.empty() ? *hex : *hex + "." + std::string(extension);
        auto path = PathOf(*name);
        if (!path) return path;
        if (auto made = EnsureDirectory(path->parent_path().parent_path()); !made)
            return tl::unexpected(made.error());
        if (auto made = EnsureDirectory(path->parent_path()); !made) return tl::unexpected(made.error());
        struct stat existing;
        if (::lstat(path->c_str(), &existing) != 0 && errno == ENOENT) return path;  // 128 random bits: once
    }
}

base::Result<std::string> Spool::Put(std::span<const std::byte> bytes, std::string_view extension) {
    std::string name;
    auto target = NewTarget(extension, &name);
    if (!target) return tl::unexpected(target.error());
    if (auto written = base::WriteFileAtomically(*target, bytes); !written) {
        return tl::unexpected(written.error());
    }
    return name;
}

base::Result<std::string> Spool::Put(std::string_view bytes, std::string_view extension) {
    return Put(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), extension);
}

base::Result<std::string> Spool::PutFile(const std::filesystem::path& source, std::string_view extension) {
    std::string name;
    auto target = NewTarget(extension, &name);
    if (!target) return tl::unexpected(target.error());
    auto file = base::AtomicFile::Create(*target);
    if (!file) return tl::unexpected(file.error());
    std::error_code error;
    std::filesystem::copy_file(source, file->TempPath(), std::filesystem::copy_options::overwrite_existing,
                               error);
    if (error) {
        return base::MakeError(base::ErrorCode::kIo,
                               "cannot copy " + source.string() + " into the spool: " + error.message());
    }
    if (auto committed = file->Commit(); !committed) return tl::unexpected(committed.error());
    return name;
}

base::Result<void> Spool::Remove(std::string_view name) {
    auto path = PathOf(name);
    if (!path) return tl::unexpected(path.error());
    if (::unlink(path->c_str()) != 0 && errno != ENOENT) {
        return base::ErrnoError("cannot remove " + path->string(), errno);
    }
    return {};
}

base::Result<int> Spool::RemoveLeftovers() {
    // Only at start-up: a Put in progress on another thread also has a temporary file.
    int removed = 0;
    std::error_code error;
    for (auto it = std::filesystem::recursive_directory_iterator(root_, error);
         !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
        const std::string file = it->path().filename().string();
        if (it->is_regular_file() && file.starts_with(".") && file.find(".tmp") != std::string::npos) {
            if (::unlink(it->path().c_str()) == 0) ++removed;
        }
    }
    if (error)
        return base::MakeError(base::ErrorCode::kIo,
                               "cannot scan spool " + root_.string() + ": " + error.message());
    return removed;
}

}  // namespace faxd::store
