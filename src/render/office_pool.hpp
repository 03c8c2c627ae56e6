// Office documents to PDF through a few persistent LibreOffice processes. Starting soffice costs about a
// second per document; a warm instance converts in about 0.1 s. Each instance is a headless soffice with a
// private profile plus a small python3-uno bridge (office_bridge.py) that loads one document at a time and
// exports it as PDF. LibreOffice runs as separate processes (its own process groups, clean environment,
// rlimits): a hostile document can crash or stall an instance, which is then killed and replaced, never the
// daemon.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "base/result.hpp"

namespace faxd::render {

struct OfficePoolOptions {
    // LibreOffice processes converting at once (one document each); ~100-250 MB of memory apiece.
    int instances = 1;
    // Wall time of one document; also the longest wait for a free instance.
    std::chrono::milliseconds timeout{std::chrono::seconds{120}};
    // Starting an instance: soffice start-up and the bridge's UNO connection (profile creation included).
    std::chrono::milliseconds start_timeout{std::chrono::seconds{60}};
    // soffice grows with every document (85 MB idle, ~240 MB after 30); restart it after this many (0:
    // never).
    int recycle_after = 200;
    // Empty: soffice found by FindProgram on first use.
    std::filesystem::path soffice;
    // The distribution's python, which has the `uno` module (a pyenv or venv python earlier in PATH has not).
    std::filesystem::path python = "/usr/bin/python3";
    // Each instance gets a private directory here (profile, bridge script, logs), removed when it stops.
    std::filesystem::path temp_parent = std::filesystem::temp_directory_path();
    // RLIMIT_AS of soffice and the bridge: a document that needs more fails instead of exhausting the host.
    std::uint64_t address_space_bytes = 4ull << 30;
    // RLIMIT_FSIZE: the largest file LibreOffice may write (the PDF).
    std::uint64_t file_size_bytes = 1ull << 30;
};

// Thread-safe. Instances start lazily, on the first document that needs one, so a server that never sees an
// Office document never starts soffice. The destructor stops everything (SIGTERM, then SIGKILL) and removes
// the instances' directories; no Convert call may be running then.
class OfficePool {
public:
    explicit OfficePool(OfficePoolOptions options = {});
    ~OfficePool();
    OfficePool(const OfficePool&) = delete;
    OfficePool& operator=(const OfficePool&) = delete;

    // Converts `input` (any document LibreOffice opens; the caller checked its type) to `output_pdf`, both
    // absolute or relative to the current directory, and returns the PDF's page count. Errors name `input`:
    // kTimeout when no instance became free or LibreOffice did not finish within options.timeout (the
    // instance is killed and replaced for the next document), kUnsupported for a password-protected document,
    // kMalformed for one LibreOffice cannot open or that crashed it, kNotFound/kIo when LibreOffice cannot
    // start.
    base::Result<int> Convert(const std::filesystem::path& input, const std::filesystem::path& output_pdf);

    const OfficePoolOptions& Options() const { return options_; }

private:
    class Instance;

    const OfficePoolOptions options_;
    std::vector<std::unique_ptr<Instance>> instances_;
    std::mutex mutex_;
    std::condition_variable instance_freed_;
    std::vector<bool> busy_;  // guarded by mutex_
};

}  // namespace faxd::render
