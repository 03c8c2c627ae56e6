#include "render/child_process.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

namespace faxd::render {

void Fd::Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

base::Result<pid_t> SpawnSandboxed(const SpawnRequest& request) {
    // Everything after fork() runs in the child of a possibly multi-threaded parent, so only
    // async-signal-safe calls (POSIX.1-2017 §2.4.3) are made there; all strings and arrays are prepared
    // before the fork.
    std::vector<std::string> argv = request.argv, env = request.env;
    std::vector<char*> argv_ptrs, env_ptrs;
    for (auto& arg : argv) argv_ptrs.push_back(arg.data());
    argv_ptrs.push_back(nullptr);
    for (auto& entry : env) env_ptrs.push_back(entry.data());
    env_ptrs.push_back(nullptr);
    const std::string work_dir = request.work_dir.string();
    const rlimit no_core{0, 0};
    const auto cpu_seconds =
        static_cast<rlim_t>(request.cpu ? std::max<std::int64_t>(1, request.cpu->count()) : 0);
    const rlimit cpu{cpu_seconds, cpu_seconds + 1};
    const rlimit address_space{request.address_space_bytes, request.address_space_bytes};
    const rlimit file_size{request.file_size_bytes, request.file_size_bytes};

    int exec_error[2];
    if (::pipe2(exec_error, O_CLOEXEC) != 0) return base::ErrnoError("pipe2", errno);
    Fd error_read(exec_error[0]), error_write(exec_error[1]);

    const pid_t pid = ::fork();
    if (pid < 0) return base::ErrnoError("fork for " + argv[0], errno);
    if (pid == 0) {
        ::setpgid(0, 0);  // its own process group, so a kill reaches whatever it spawned too
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        // Ignored signals stay ignored across execve; the daemon ignores SIGPIPE, children must not.
        for (int sig : {SIGPIPE, SIGXCPU, SIGXFSZ, SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_DFL);
        if (::dup2(request.stdin_fd, 0) >= 0 && ::dup2(request.stdout_fd, 1) >= 0 &&
            ::dup2(request.stderr_fd, 2) >= 0 && ::chdir(work_dir.c_str()) == 0) {
            ::setrlimit(RLIMIT_CORE, &no_core);
            if (cpu_seconds > 0) ::setrlimit(RLIMIT_CPU, &cpu);
            ::setrlimit(RLIMIT_AS, &address_space);
            ::setrlimit(RLIMIT_FSIZE, &file_size);
            // Inherited descriptors (sockets, the database) must not reach the child.
            ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
            ::execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
        }
        const int error = errno;
        [[maybe_unused]] auto ignored = ::write(error_write.Get(), &error, sizeof error);
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here, so killing the group works before the child got to it
    error_write.Reset();
    int exec_errno = 0;
    if (::read(error_read.Get(), &exec_errno, sizeof exec_errno) == static_cast<ssize_t>(sizeof exec_errno)) {
        ::waitpid(pid, nullptr, 0);
        if (exec_errno == ENOENT)
            return base::MakeError(base::ErrorCode::kNotFound, "cannot run " + argv[0] + ": not found");
        return base::ErrnoError("cannot run " + argv[0], exec_errno);
    }
    return pid;
}

base::Result<Fd> OpenPidFd(pid_t pid) {
    // glibc 2.36's <sys/pidfd.h> lacks C linkage for C++, so the system call is made directly.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pidfd.Get() < 0) {
        const int error = errno;
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return base::ErrnoError("pidfd_open", error);
    }
    return pidfd;
}

std::string FormatSeconds(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(duration.count()) / 1000.0);
    return text;
}

}  // namespace faxd::render
