// A durable drop box: a directory of files, each written atomically (temporary file, fsync, rename, fsync of
// the directory), taken in the order they were put and removed only when their work is done. The e-mail
// gateway keeps accepted mails (before the SMTP 250 or the mailbox delete) and pending notices in such boxes,
// so a crash or kill -9 loses none of them; work that was done but not yet removed is done again, which the
// consumers make harmless (idempotency keys).
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace faxd::app {

class MailDrop {
public:
    // Creates the directory when missing and removes temporary files a crash left behind.
    static base::Result<MailDrop> Open(const std::filesystem::path& directory);
    MailDrop(MailDrop&& other) noexcept
        : directory_(std::move(other.directory_)), counter_(other.counter_.load()) {}

    // One entry: a first line (a JSON header, no newline in it) and the body. Durable when it returns; the
    // id sorts after every id put before it by this process.
    base::Result<std::string> Put(std::string_view header, std::string_view body);
    // Ids in put order (oldest first), at most `limit`.
    std::vector<std::string> List(std::size_t limit) const;
    struct Entry {
        std::string header;
        std::string body;
    };
    base::Result<Entry> Read(const std::string& id) const;
    // Not durable by itself: after a crash a removed entry may be back (and is then done again).
    base::Result<void> Remove(const std::string& id);
    std::size_t Count() const;

    const std::filesystem::path& directory() const { return directory_; }

private:
    explicit MailDrop(std::filesystem::path directory) : directory_(std::move(directory)) {}
    std::filesystem::path directory_;
    std::atomic<std::uint64_t> counter_{0};
};

}  // namespace faxd::app
