#include "render/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

// Owns one file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            Reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~Fd() { Reset(); }
    int Get() const { return fd_; }
    void Reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

base::Result<std::pair<Fd, Fd>> MakePipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return base::ErrnoError("pipe2", errno);
    return std::pair<Fd, Fd>(Fd(fds[0]), Fd(fds[1]));
}

std::string ProgramName(const SubprocessOptions& options) {
    return std::filesystem::path(options.argv.front()).filename().string();
}

// Everything after fork() runs in the child of a possibly multi-threaded parent, so only async-signal-safe
// calls (POSIX.1-2017 §2.4.3) are made there; all strings and arrays are prepared before the fork.
struct ChildPlan {
    std::vector<char*> argv;
    std::vector<char*> envp;
    const char* work_dir = nullptr;
    rlimit cpu{};
    rlimit address_space{};
    rlimit file_size{};
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    int exec_error_fd = -1;
};

[[noreturn]] void RunChild(const ChildPlan& plan) {
    ::setpgid(0, 0);  // its own process group, so a timeout kills whatever it spawned too
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Ignored signals stay ignored across execve; the daemon ignores SIGPIPE, children must not.
    for (int sig : {SIGPIPE, SIGXCPU, SIGXFSZ, SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_DFL);
    if (::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.stdout_fd, 1) < 0 || ::dup2(plan.stderr_fd, 2) < 0 ||
        ::chdir(plan.work_dir) != 0) {
        const int error = errno;
        [[maybe_unused]] auto ignored = ::write(plan.exec_error_fd, &error, sizeof error);
        ::_exit(127);
    }
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::setrlimit(RLIMIT_CPU, &plan.cpu);
    ::setrlimit(RLIMIT_AS, &plan.address_space);
    ::setrlimit(RLIMIT_FSIZE, &plan.file_size);
    // Inherited descriptors (sockets, the database) must not reach the converter.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(plan.argv[0], plan.argv.data(), plan.envp.data());
    const int error = errno;
    [[maybe_unused]] auto ignored = ::write(plan.exec_error_fd, &error, sizeof error);
    ::_exit(127);
}

// "30 s", "1.5 s": for messages people read.
std::string FormatSeconds(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(duration.count()) / 1000.0);
    return text;
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

    // Prepare everything the child needs.
    std::vector<std::string> env = {"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + work_dir.string(),
                                    "TMPDIR=" + work_dir.string()};
    env.insert(env.end(), options.extra_env.begin(), options.extra_env.end());
    std::vector<std::string> argv_copy = options.argv;
    const std::string work_dir_text = work_dir.string();
    ChildPlan plan;
    for (auto& arg : argv_copy) plan.argv.push_back(arg.data());
    plan.argv.push_back(nullptr);
    for (auto& entry : env) plan.envp.push_back(entry.data());
    plan.envp.push_back(nullptr);
    plan.work_dir = work_dir_text.c_str();
    const auto cpu_seconds = static_cast<rlim_t>(std::max<std::int64_t>(1, limits.cpu.count()));
    plan.cpu = {cpu_seconds, cpu_seconds + 1};
    plan.address_space = {limits.address_space_bytes, limits.address_space_bytes};
    plan.file_size = {limits.file_size_bytes, limits.file_size_bytes};

    Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (dev_null.Get() < 0) return base::ErrnoError("open /dev/null", errno);
    auto out_pipe = MakePipe();
    if (!out_pipe) return tl::unexpected(out_pipe.error());
    auto err_pipe = MakePipe();
    if (!err_pipe) return tl::unexpected(err_pipe.error());
    auto exec_pipe = MakePipe();
    if (!exec_pipe) return tl::unexpected(exec_pipe.error());
    plan.stdin_fd = dev_null.Get();
    plan.stdout_fd = out_pipe->second.Get();
    plan.stderr_fd = err_pipe->second.Get();
    plan.exec_error_fd = exec_pipe->second.Get();

    // Wall time of a real child process: a simulated clock has no meaning here, so steady_clock is read
    // directly.
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) return base::ErrnoError("fork for " + program, errno);
    if (pid == 0) RunChild(plan);
    ::setpgid(pid, pid);  // also here, so KillGroup works even before the child ran setpgid itself

    out_pipe->second.Reset();
    err_pipe->second.Reset();
    exec_pipe->second.Reset();
    dev_null.Reset();

    int exec_errno = 0;
    const ssize_t got = ::read(exec_pipe->first.Get(), &exec_errno, sizeof exec_errno);
    if (got == static_cast<ssize_t>(sizeof exec_errno)) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (exec_errno == ENOENT)
            return MakeError(ErrorCode::kNotFound, "cannot run " + options.argv[0] + ": not found");
        return base::ErrnoError("cannot run " + options.argv[0], exec_errno);
    }

    // glibc 2.36's <sys/pidfd.h> lacks C linkage for C++, so the system call is made directly (Linux >= 5.3).
    Fd pid_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pid_fd.Get() < 0) {
        const int error = errno;
        KillGroup(pid);
        ::waitpid(pid, nullptr, 0);
        return base::ErrnoError("pidfd_open", error);
    }

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
            polled[count] = {pid_fd.Get(), POLLIN, 0};
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
