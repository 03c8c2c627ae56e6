// Starting sandboxed children, shared by RunSubprocess (converters that run to their end) and the LibreOffice
// pool (instances that keep running): fork + execve into a process group of its own, a clean environment,
// descriptors 0-2 only, rlimits. Internal to render/.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace faxd::render {

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
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { Reset(); }
    int Get() const { return fd_; }
    void Reset();

private:
    int fd_ = -1;
};

struct SpawnRequest {
    std::vector<std::string> argv;  // argv[0] absolute: no PATH search
    std::vector<std::string> env;   // the whole environment
    std::filesystem::path work_dir;
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    std::optional<std::chrono::seconds> cpu;  // RLIMIT_CPU (SIGXCPU, then SIGKILL a second later)
    std::uint64_t address_space_bytes = 0;
    std::uint64_t file_size_bytes = 0;
};

// Starts the child; it leads its own process group (so killing -pid reaches whatever it spawns). kNotFound
// when the program does not exist; other exec failures are kIo with the reason.
base::Result<pid_t> SpawnSandboxed(const SpawnRequest& request);

// A pidfd for `pid` (Linux >= 5.3) to poll for its exit. On failure the child's group is killed and reaped.
base::Result<Fd> OpenPidFd(pid_t pid);

// "30 s", "1.5 s": for messages people read.
std::string FormatSeconds(std::chrono::milliseconds duration);

}  // namespace faxd::render
