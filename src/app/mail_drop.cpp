#include "app/mail_drop.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/atomic_file.hpp"

namespace faxd::app {

using base::ErrorCode;
using base::MakeError;

namespace {
constexpr std::string_view kSuffix = ".mail";

bool IsEntry(const std::filesystem::path& path) {
    const std::string name = path.filename().string();
    return name.size() > kSuffix.size() && name.front() != '.' && name.ends_with(kSuffix);
}
}  // namespace

base::Result<MailDrop> MailDrop::Open(const std::filesystem::path& directory) {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) return MakeError(ErrorCode::kIo, "cannot create " + directory.string() + ": " + ec.message());
    for (const auto& item : std::filesystem::directory_iterator(directory, ec)) {
        // Temporary files of writes a crash cut short (the atomic writer names them ".<name>.tmp...").
        if (item.path().filename().string().starts_with(".")) std::filesystem::remove(item.path(), ec);
    }
    return MailDrop(directory);
}

base::Result<std::string> MailDrop::Put(std::string_view header, std::string_view body) {
    if (header.find('\n') != std::string_view::npos) {
        return MakeError(ErrorCode::kInvalidArgument, "a drop header is one line");
    }
    // Nanoseconds since the epoch, then a per-process counter: sorts in put order, unique per process.
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    char id[64];
    std::snprintf(id, sizeof id, "%020lld-%06llu", static_cast<long long>(now),
                  static_cast<unsigned long long>(counter_.fetch_add(1) % 1000000));
    std::string data;
    data.reserve(header.size() + 1 + body.size());
    data.append(header).append("\n").append(body);
    if (auto written = base::WriteFileAtomically(directory_ / (std::string(id) + std::string(kSuffix)), data);
        !written) {
        return tl::unexpected(written.error());
    }
    return std::string(id);
}

std::vector<std::string> MailDrop::List(std::size_t limit) const {
    std::vector<std::string> ids;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(directory_, ec)) {
        if (!IsEntry(item.path())) continue;
        const std::string name = item.path().filename().string();
        ids.push_back(name.substr(0, name.size() - kSuffix.size()));
    }
    std::sort(ids.begin(), ids.end());
    if (ids.size() > limit) ids.resize(limit);
    return ids;
}

std::size_t MailDrop::Count() const {
    std::size_t count = 0;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(directory_, ec))
        count += IsEntry(item.path());
    return count;
}

base::Result<MailDrop::Entry> MailDrop::Read(const std::string& id) const {
    const auto path = directory_ / (id + std::string(kSuffix));
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kNotFound, "no drop entry " + path.string());
    std::ostringstream all;
    all << in.rdbuf();
    std::string data = std::move(all).str();
    const auto newline = data.find('\n');
    if (newline == std::string::npos) return MakeError(ErrorCode::kIo, path.string() + " has no header line");
    Entry entry;
    entry.header = data.substr(0, newline);
    entry.body = data.substr(newline + 1);
    return entry;
}

base::Result<void> MailDrop::Remove(const std::string& id) {
    std::error_code ec;
    std::filesystem::remove(directory_ / (id + std::string(kSuffix)), ec);
    if (ec) return MakeError(ErrorCode::kIo, "cannot remove drop entry " + id + ": " + ec.message());
    // No fsync of the directory: an entry a crash brings back is done again, which its consumers make
    // harmless, and the fsync cost as much as the rest of a mail's intake.
    return {};
}

}  // namespace faxd::app
