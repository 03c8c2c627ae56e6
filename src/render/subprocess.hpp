// Runs converter programs (Ghostscript, GraphicsMagick, ...) as sandboxed children: no shell, an argv vector,
// a clean environment, a fresh working directory, rlimits and a wall-clock timeout. Hostile documents then
// cost at most one child's CPU, memory and disk share, and never the daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace faxd::render {

// A directory made with mkdtemp(3) (mode 0700) and removed with everything in it on destruction.
class TempDir {
public:
    static base::Result<TempDir> Create(const std::filesystem::path& parent, std::string_view prefix);
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::filesystem::path& Path() const { return path_; }

private:
    explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
    void Remove();
    std::filesystem::path path_;
};

struct SubprocessLimits {
    std::chrono::seconds cpu{120};                   // RLIMIT_CPU: SIGXCPU, then SIGKILL one second later
    std::uint64_t address_space_bytes = 2ull << 30;  // RLIMIT_AS: allocations fail beyond it
    std::uint64_t file_size_bytes = 1ull << 30;      // RLIMIT_FSIZE: SIGXFSZ on a larger write
    std::chrono::milliseconds wall{std::chrono::seconds{120}};
    std::size_t output_bytes = 64 * 1024;  // per stream; more kills the child (kLimitExceeded)
};

struct SubprocessOptions {
    // argv[0] is an absolute path: no PATH search, so a planted binary in a writable directory is never run.
    std::vector<std::string> argv;
    // Working directory. Empty: a fresh temporary directory under temp_parent, removed afterwards.
    std::filesystem::path work_dir;
    std::filesystem::path temp_parent = std::filesystem::temp_directory_path();
    // "NAME=value" entries added to the minimal environment (PATH=/usr/bin:/bin, LC_ALL=C, HOME and TMPDIR
    // set to the working directory). Nothing of the daemon's environment leaks through.
    std::vector<std::string> extra_env;
    SubprocessLimits limits;
};

struct SubprocessResult {
    int exit_code = -1;   // set when the program exited
    int term_signal = 0;  // set when a signal other than the limit ones ended it (SIGSEGV, ...)
    std::string std_out;  // at most limits.output_bytes
    std::string std_err;
    std::chrono::milliseconds elapsed{0};

    bool Succeeded() const { return term_signal == 0 && exit_code == 0; }
};

// A non-zero exit or a crash is a result, not an error: the caller knows what the program's codes mean.
// Errors: kTimeout (wall clock; the whole process group is killed), kLimitExceeded (CPU seconds, file size,
// output bytes), kNotFound (no such program), kIo (fork, pipes, temporary directory).
base::Result<SubprocessResult> RunSubprocess(const SubprocessOptions& options);

// The first existing executable among /usr/bin, /bin, /usr/local/bin; kNotFound naming the package hint.
base::Result<std::filesystem::path> FindProgram(std::string_view name);

// The first few non-empty lines a converter printed (stderr, else stdout), for error messages: its warnings
// can be long.
std::string DiagnosticExcerpt(const SubprocessResult& result);

}  // namespace faxd::render
