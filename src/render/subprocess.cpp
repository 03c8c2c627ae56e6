#include "render/subprocess.hpp"

#include "render/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

base::Result<std::pair<Fd, Fd>> MakePipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return base::ErrnoError("pipe2", errno);
    return std::pair<Fd, Fd>(Fd(fds[0]), Fd(fds[1]));
}

std::string ProgramName(const SubprocessOptions& options) {
    return std::filesystem::path(options.argv.front()).filename().string();
}

void KillGroup(pid_t pid) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
}

}  // namespace

// --- TempDir ---

base::Result<TempDir> TempDir::Create(const std::filesystem::path& parent, std::string_view prefix) {
    std::string pattern = (parent / (std::string(prefix) + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) return base::ErrnoError("mkdtemp " + pattern, errno);
    return TempDir(std::filesystem::path(pattern));
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
    if (this != &other) {
        Remove();
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

TempDir::~TempDir() { Remove(); }

void TempDir::Remove() {
    if (path_.empty()) return;
    std::error_code ignored;  // nothing useful to do in a destructor; the path is under our temp parent
    std::filesystem::remove_all(path_, ignored);
    path_.clear();
}

// --- RunSubprocess ---

base::Result<std::filesystem::path> FindProgram(std::string_view name) {
    for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"}) {
        std::filesystem::path candidate = std::filesystem::path(dir) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return MakeError(ErrorCode::kNotFound, "program " + std::string(name) + " is not installed");
}

base::Result<SubprocessResult> RunSubprocess(const SubprocessOptions& options) {
    if (options.argv.empty() || !std::filesystem::path(options.argv.front()).is_absolute()) {
        return MakeError(ErrorCode::kInvalidArgument, "subprocess argv[0] must be an absolute path");
    }
    const std::string program = ProgramName(options);
    const auto& limits = options.limits;

    std::optional<TempDir> own_dir;
    std::filesystem::path work_dir = options.work_dir;
    if (work_dir.empty()) {
        auto dir = TempDir::Create(options.temp_parent, "faxd-run-");
        if (!dir) return tl::unexpected(dir.error());
        own_dir.emplace(std::move(*dir));
        work_dir = own_dir->Path();
    }

    std::vector<std::string> env = {"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + work_dir.string(),
                                    "TMPDIR=" + work_dir.string()};
    env.insert(env.end(), options.extra_env.begin(), options.extra_env.end());
    Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (dev_null.Get() < 0) return base::ErrnoError("open /dev/null", errno);
    auto out_pipe = MakePipe();
    if (!out_pipe) return tl::unexpected(out_pipe.error());
    auto err_pipe = MakePipe();
    if (!err_pipe) return tl::unexpected(err_pipe.error());

    // Wall time of a real child process: a simulated clock has no meaning here, so steady_clock is read
    // directly.
    const auto start = std::chrono::steady_clock::now();
    auto spawned = SpawnSandboxed({.argv = options.argv,
                                   .env = env,
                                   .work_dir = work_dir,
                                   .stdin_fd = dev_null.Get(),
                                   .stdout_fd = out_pipe->second.Get(),
                                   .stderr_fd = err_pipe->second.Get(),
                                   .cpu = limits.cpu,
                                   .address_space_bytes = limits.address_space_bytes,
                                   .file_size_bytes = limits.file_size_bytes});
    if (!spawned) return tl::unexpected(spawned.error());
    const pid_t pid = *spawned;
    out_pipe->second.Reset();
    err_pipe->second.Reset();
    dev_null.Reset();
    auto pid_fd = OpenPidFd(pid);
    if (!pid_fd) return tl::unexpected(pid_fd.error());

    SubprocessResult result;
    std::array<std::string*, 2> sinks = {&result.std_out, &result.std_err};
    std::array<int, 2> fds = {out_pipe->first.Get(), err_pipe->first.Get()};
    const std::array<const char*, 2> stream_names = {"stdout", "stderr"};
    bool exited = false;
    std::optional<base::Error> failure;
    const auto deadline = start + limits.wall;
    std::array<char, 16 * 1024> buffer;

    while (!failure && (!exited || fds[0] >= 0 || fds[1] >= 0)) {
        std::array<pollfd, 3> polled{};
        nfds_t count = 0;
        std::array<int, 3> which{};
        for (int i = 0; i < 2; ++i) {
            if (fds[i] < 0) continue;
            polled[count] = {fds[i], POLLIN, 0};
            which[count++] = i;
        }
        if (!exited) {
            polled[count] = {pid_fd->Get(), POLLIN, 0};
            which[count++] = 2;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            failure = base::Error{ErrorCode::kTimeout,
                                  program + " did not finish within " + FormatSeconds(limits.wall),
                                  std::nullopt, std::nullopt};
            break;
        }
        const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
        const int ready =
            ::poll(polled.data(), count, static_cast<int>(std::min<std::int64_t>(wait_ms, 60'000)));
        if (ready < 0) {
            if (errno == EINTR) continue;
            failure = base::Error{ErrorCode::kIo, std::string("poll: ") + std::strerror(errno), std::nullopt,
                                  std::nullopt};
            break;
        }
        for (nfds_t k = 0; k < count; ++k) {
            if (polled[k].revents == 0) continue;
            if (which[k] == 2) {
                exited = true;
                // The main process is gone; anything it left in its group goes too, so the pipes reach EOF.
                KillGroup(pid);
                continue;
            }
            const int i = which[k];
            const ssize_t n = ::read(fds[i], buffer.data(), buffer.size());
            if (n <= 0) {
                if (n < 0 && errno == EINTR) continue;
                fds[i] = -1;
                continue;
            }
            if (sinks[i]->size() + static_cast<std::size_t>(n) > limits.output_bytes) {
                failure = base::Error{ErrorCode::kLimitExceeded,
                                      program + " wrote more than " + std::to_string(limits.output_bytes) +
                                          " bytes to " + stream_names[i],
                                      std::nullopt, std::nullopt};
                break;
            }
            sinks[i]->append(buffer.data(), static_cast<std::size_t>(n));
        }
    }

    int status = 0;
    if (failure) KillGroup(pid);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (failure) return tl::unexpected(*failure);

    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
        return result;
    }
    const int sig = WTERMSIG(status);
    if (sig == SIGXCPU || sig == SIGKILL) {
        // Nobody but the kernel sent SIGKILL here: the CPU hard limit or the OOM killer.
        return MakeError(ErrorCode::kLimitExceeded, program + " exceeded its CPU limit of " +
                                                        std::to_string(limits.cpu.count()) +
                                                        " s (or was killed for memory)");
    }
    if (sig == SIGXFSZ) {
        return MakeError(ErrorCode::kLimitExceeded, program + " tried to write a file larger than " +
                                                        std::to_string(limits.file_size_bytes) + " bytes");
    }
    result.term_signal = sig;
    return result;
}

std::string DiagnosticExcerpt(const SubprocessResult& result) {
    std::string text = result.std_err.empty() ? result.std_out : result.std_err;
    std::string excerpt;
    std::size_t lines = 0, pos = 0;
    while (pos < text.size() && lines < 3) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        line.erase(0, line.find_first_not_of(" \t*"));
        if (!line.empty()) {
            if (!excerpt.empty()) excerpt += " / ";
            excerpt += line;
            ++lines;
        }
        pos = end + 1;
    }
    return excerpt.empty() ? "no diagnostic output" : excerpt.substr(0, 400);
}

}  // namespace faxd::render
