// Child processes and free ports for integration tests that run faxd and faxctl as real programs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace faxd::testing {

class ChildProcess {
public:
    // Starts argv[0] with stdout and stderr going to `log` (appended).
    static std::optional<ChildProcess> Spawn(const std::vector<std::string>& argv, const std::filesystem::path& log);
    ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
    ChildProcess& operator=(ChildProcess&& other) noexcept {
        std::swap(pid_, other.pid_);
        return *this;
    }
    ~ChildProcess();  // SIGKILL if still running

    pid_t pid() const { return pid_; }
    void Signal(int signal_number) const;
    // Exit status, or nullopt when it did not end in time.
    std::optional<int> Wait(std::chrono::milliseconds timeout);

private:
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;
};

// A port free for both UDP and TCP on 127.0.0.1 right now (bound, read, released).
std::uint16_t FreePort();

// Runs a program to its end; returns its exit status and what it wrote to stdout.
struct RunResult {
    int status = -1;
    std::string out;
};
RunResult RunProgram(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                     const std::filesystem::path& stderr_log);

// Polls until `path` contains `needle`.
bool WaitForText(const std::filesystem::path& path, const std::string& needle, std::chrono::milliseconds timeout);
std::string ReadFile(const std::filesystem::path& path);

}  // namespace faxd::testing
