#include "render/office_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "render/child_process.hpp"
#include "render/file_error.hpp"
// The bridge's source as kOfficeBridgeScript, generated from office_bridge.py by CMake. Embedding it (rather
// than installing the .py beside the binary) means no install path to find or to get wrong: each instance
// writes it into its own private directory.
#include "render/office_bridge_script.hpp"
#include "render/subprocess.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;
using Clock = std::chrono::steady_clock;

// A child process leading its own process group, watched through a pidfd. It stays a zombie until Kill()
// reaps it, so its pid, which is also the group id, cannot be reused while we may still signal the group.
// Kill() signals the whole group; members left behind (soffice.bin under its launcher) are reaped by init.
class Child {
public:
    Child() = default;
    Child(pid_t pid, Fd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
    Child(Child&& other) noexcept
        : pid_(std::exchange(other.pid_, -1)),
          pidfd_(std::move(other.pidfd_)),
          exit_(std::move(other.exit_)) {}
    Child& operator=(Child&& other) noexcept {
        if (this != &other) {
            Kill();
            pid_ = std::exchange(other.pid_, -1);
            pidfd_ = std::move(other.pidfd_);
            exit_ = std::move(other.exit_);
        }
        return *this;
    }
    ~Child() { Kill(); }

    bool Started() const { return pid_ > 0; }
    int PidFd() const { return pidfd_.Get(); }
    void Signal(int sig) const {
        if (pid_ > 0) ::kill(-pid_, sig);
    }
    // Non-blocking; WNOWAIT leaves the zombie in place.
    bool Exited() {
        if (exit_) return true;
        siginfo_t info{};
        if (pid_ <= 0 || ::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid != pid_) {
            return false;
        }
        const char* signal_name = ::sigabbrev_np(info.si_status);
        exit_ = info.si_code == CLD_EXITED ? "exit code " + std::to_string(info.si_status)
                                           : std::string("signal ") + (signal_name ? signal_name : "?");
        return true;
    }
    // "exit code 1", "signal SEGV" once Exited().
    std::string Describe() const { return exit_.value_or("still running"); }
    void Kill() {
        if (pid_ <= 0) return;
        Signal(SIGKILL);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    Fd pidfd_;
    std::optional<std::string> exit_;
};

// Waits until every child exited or the deadline passed.
void WaitForExit(std::initializer_list<Child*> children, Clock::time_point deadline) {
    for (Child* child : children) {
        while (!child->Exited() && Clock::now() < deadline) {
            pollfd watched{child->PidFd(), POLLIN, 0};
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            ::poll(&watched, 1, static_cast<int>(std::max<std::int64_t>(1, left.count())));
        }
    }
}

// Starts a sandboxed child (child_process.hpp) watched through a pidfd.
base::Result<Child> Spawn(const SpawnRequest& request) {
    auto pid = SpawnSandboxed(request);
    if (!pid) return tl::unexpected(pid.error());
    auto pidfd = OpenPidFd(*pid);
    if (!pidfd) return tl::unexpected(pidfd.error());
    return Child(*pid, std::move(*pidfd));
}

// file:// URL of a local path; everything but unreserved characters and '/' percent-encoded (RFC 8089, 3986).
std::string FileUrl(const std::filesystem::path& path) {
    std::string url = "file://";
    for (unsigned char c : path.string()) {
        const bool unreserved =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            std::string_view("/-._~").find(static_cast<char>(c)) != std::string_view::npos;
        if (unreserved) {
            url += static_cast<char>(c);
        } else {
            char escaped[4];
            std::snprintf(escaped, sizeof escaped, "%%%02X", c);
            url += escaped;
        }
    }
    return url;
}

// The last non-empty lines of a log file, for error messages.
std::string LogTail(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.size() > 300) text = "..." + text.substr(text.size() - 300);
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

base::Logger& Log() {
    static base::Logger logger = base::GetLogger("office");
    return logger;
}

}  // namespace

// One soffice plus its bridge. Used by one thread at a time (the pool hands it out), so unsynchronised.
class OfficePool::Instance {
public:
    Instance(const OfficePoolOptions& options, int index) : options_(options), index_(index) {}
    ~Instance() { Stop(/*graceful=*/true); }

    bool Running() const { return running_.has_value(); }
    base::Result<int> Convert(const std::filesystem::path& input, const std::filesystem::path& output);

private:
    struct Processes {
        TempDir dir;  // declared first, so it is removed after both processes are gone
        Child office;
        Child bridge;
        Fd channel;  // our end of the socket that is the bridge's stdin and stdout
        std::string received;
        int documents = 0;
        std::vector<std::filesystem::path> sockets;  // soffice's in /tmp, removed after a kill
    };
    enum class Wait { kLine, kTimeout, kBridgeGone, kOfficeGone };

    base::Result<void> Start();
    std::string AwaitStartLine(const char* field, Clock::time_point deadline, nlohmann::json& answer);
    void Stop(bool graceful);
    Wait ReadLine(Clock::time_point deadline, std::string& line);
    std::string WhyGone(Wait wait);

    const OfficePoolOptions& options_;
    const int index_;
    std::optional<Processes> running_;
};

base::Result<void> OfficePool::Instance::Start() {
    std::filesystem::path soffice = options_.soffice;
    if (soffice.empty()) {
        auto found = FindProgram("soffice");
        if (!found) return MakeError(ErrorCode::kNotFound, "LibreOffice (soffice) is not installed");
        soffice = *found;
    }
    if (::access(soffice.c_str(), X_OK) != 0) {
        return MakeError(ErrorCode::kNotFound, "LibreOffice is not installed at " + soffice.string());
    }
    auto dir = TempDir::Create(options_.temp_parent, "faxd-office-");
    if (!dir) return tl::unexpected(dir.error());
    const auto script = dir->Path() / "office_bridge.py";
    if (!(std::ofstream(script, std::ios::binary) << kOfficeBridgeScript)) {
        return MakeError(ErrorCode::kIo, "cannot write " + script.string());
    }
    Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    Fd office_log(
        ::open((dir->Path() / "soffice.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    Fd bridge_log(
        ::open((dir->Path() / "bridge.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    int sockets[2];
    if (dev_null.Get() < 0 || office_log.Get() < 0 || bridge_log.Get() < 0 ||
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
        return base::ErrnoError("office instance files in " + dir->Path().string(), errno);
    }
    Fd ours(sockets[0]), theirs(sockets[1]);

    // A name unique on the host: LibreOffice makes it a socket in /tmp.
    static std::atomic<unsigned> starts{0};
    const std::string pipe_name = "faxd_office_" + std::to_string(::getpid()) + "_" + std::to_string(index_) +
                                  "_" + std::to_string(starts++);
    const std::string profile_url = FileUrl(dir->Path() / "profile");
    const SpawnRequest office{
        .argv = {soffice.string(), "-env:UserInstallation=" + profile_url, "--headless", "--invisible",
                 "--nologo", "--norestore", "--nodefault", "--nolockcheck",
                 "--accept=pipe,name=" + pipe_name + ";urp;"},
        // C.UTF-8 rather than C: LibreOffice converts file URLs to paths with the locale's encoding.
        .env = {"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", "HOME=" + dir->Path().string(),
                "TMPDIR=" + dir->Path().string()},
        .work_dir = dir->Path(),
        .stdin_fd = dev_null.Get(),
        .stdout_fd = office_log.Get(),
        .stderr_fd = office_log.Get(),
        .address_space_bytes = options_.address_space_bytes,
        .file_size_bytes = options_.file_size_bytes};
    SpawnRequest bridge = office;
    bridge.argv = {options_.python.string(), "-I", "-B", script.string(), pipe_name, profile_url};
    bridge.stdin_fd = bridge.stdout_fd = theirs.Get();
    bridge.stderr_fd = bridge_log.Get();
    auto bridge_child = Spawn(bridge);
    if (!bridge_child) return tl::unexpected(bridge_child.error());
    theirs.Reset();  // the bridge holds the only other end now: its exit is an end of file here
    running_.emplace(Processes{std::move(*dir), Child(), std::move(*bridge_child), std::move(ours)});

    // The bridge's first line comes after `import uno` (a python without it fails here, before soffice ever
    // started) and names the sockets soffice will make in /tmp, so that a kill at any later point removes
    // them.
    const auto started = Clock::now();
    const auto deadline = started + options_.start_timeout;
    nlohmann::json answer;
    std::string failure = AwaitStartLine("sockets", deadline, answer);
    if (failure.empty() && answer["sockets"].is_array()) {
        for (const auto& socket : answer["sockets"]) {
            const std::filesystem::path path = socket.is_string() ? socket.get<std::string>() : "";
            if (path.parent_path() == "/tmp" && path.filename().string().starts_with("OSL_PIPE_")) {
                running_->sockets.push_back(path);
            }
        }
        auto office_child = Spawn(office);
        if (!office_child) {
            Stop(/*graceful=*/false);
            return tl::unexpected(office_child.error());
        }
        running_->office = std::move(*office_child);
        failure = AwaitStartLine("ready", deadline, answer);
    }
    if (!failure.empty()) {
        Stop(/*graceful=*/false);
        return MakeError(ErrorCode::kIo, failure);
    }
    Log()->info("LibreOffice instance {} ready after {} ms", index_,
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
    return {};
}

// The next start-up line of the bridge, which must have `field`; empty, or what went wrong.
std::string OfficePool::Instance::AwaitStartLine(const char* field, Clock::time_point deadline,
                                                 nlohmann::json& answer) {
    std::string line;
    const Wait wait = ReadLine(deadline, line);
    if (wait == Wait::kTimeout)
        return "LibreOffice did not start within " + FormatSeconds(options_.start_timeout);
    if (wait != Wait::kLine) return "LibreOffice did not start: " + WhyGone(wait);
    answer = nlohmann::json::parse(line, nullptr, false);
    if (answer.is_object() && answer.contains(field)) return "";
    const bool said = answer.is_object() && answer.contains("error") && answer["error"].is_string();
    return "LibreOffice did not start: " + (said ? answer["error"].get<std::string>() : line.substr(0, 200));
}

void OfficePool::Instance::Stop(bool graceful) {
    if (!running_) return;
    auto& processes = *running_;
    if (graceful) {
        // End of input: the bridge asks soffice to terminate and exits; soffice's launcher reaps soffice.bin.
        ::shutdown(processes.channel.Get(), SHUT_WR);
        WaitForExit({&processes.bridge, &processes.office}, Clock::now() + std::chrono::seconds{5});
        processes.office.Signal(SIGTERM);
        processes.bridge.Signal(SIGTERM);
        WaitForExit({&processes.bridge, &processes.office}, Clock::now() + std::chrono::seconds{2});
    }
    const auto sockets = std::move(processes.sockets);
    running_.reset();  // SIGKILL to whatever is left, then the directory goes
    // soffice removes its sockets when it exits normally; after a kill they would stay in /tmp for good.
    for (const auto& socket : sockets) {
        struct stat info;
        if (::lstat(socket.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) ::unlink(socket.c_str());
    }
}

OfficePool::Instance::Wait OfficePool::Instance::ReadLine(Clock::time_point deadline, std::string& line) {
    auto& processes = *running_;
    char buffer[4096];
    for (;;) {
        if (const auto end = processes.received.find('\n'); end != std::string::npos) {
            line = processes.received.substr(0, end);
            processes.received.erase(0, end + 1);
            return Wait::kLine;
        }
        const auto now = Clock::now();
        if (now >= deadline) return Wait::kTimeout;
        pollfd watched[2] = {{processes.channel.Get(), POLLIN, 0}, {processes.office.PidFd(), POLLIN, 0}};
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
        if (::poll(watched, 2, static_cast<int>(std::min<std::int64_t>(left, 60'000))) < 0 &&
            errno != EINTR) {
            return Wait::kBridgeGone;
        }
        if (watched[0].revents != 0) {
            const ssize_t got = ::recv(processes.channel.Get(), buffer, sizeof buffer, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0 || processes.received.size() > 64 * 1024) return Wait::kBridgeGone;
            processes.received.append(buffer, static_cast<std::size_t>(got));
        } else if (watched[1].revents != 0) {
            return Wait::kOfficeGone;
        }
    }
}

std::string OfficePool::Instance::WhyGone(Wait wait) {
    auto& processes = *running_;
    // Give soffice a moment to end too, so the message names it when it failed first.
    if (processes.office.Started()) {
        WaitForExit({&processes.office}, Clock::now() + std::chrono::milliseconds{200});
    }
    if (wait == Wait::kOfficeGone || processes.office.Exited()) {
        const std::string log = LogTail(processes.dir.Path() / "soffice.log");
        return "soffice ended (" + processes.office.Describe() + ")" + (log.empty() ? "" : ": " + log);
    }
    WaitForExit({&processes.bridge}, Clock::now() + std::chrono::milliseconds{200});
    const std::string log = LogTail(processes.dir.Path() / "bridge.log");
    return "the UNO bridge ended (" + processes.bridge.Describe() + ")" + (log.empty() ? "" : ": " + log);
}

base::Result<int> OfficePool::Instance::Convert(const std::filesystem::path& input,
                                                const std::filesystem::path& output) {
    if (running_ && (running_->office.Exited() || running_->bridge.Exited())) {
        Log()->warn("LibreOffice instance {} ended while idle; restarting it", index_);
        Stop(/*graceful=*/false);
    }
    if (running_ && options_.recycle_after > 0 && running_->documents >= options_.recycle_after) {
        Log()->info("LibreOffice instance {} recycled after {} documents", index_, running_->documents);
        Stop(/*graceful=*/true);
    }
    if (!running_) {
        if (auto started = Start(); !started) return ForFile(input, started.error());
    }
    const nlohmann::json request = {{"input", std::filesystem::absolute(input).string()},
                                    {"output", std::filesystem::absolute(output).string()}};
    const std::string text = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    // MSG_NOSIGNAL: a bridge that died makes this fail with EPIPE instead of raising SIGPIPE in the daemon.
    if (::send(running_->channel.Get(), text.data(), text.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(text.size())) {
        const std::string why = WhyGone(Wait::kBridgeGone);
        Stop(/*graceful=*/false);
        return FileError(input, ErrorCode::kIo, "LibreOffice is not available: " + why);
    }
    ++running_->documents;
    std::string line;
    const Wait wait = ReadLine(Clock::now() + options_.timeout, line);
    if (wait == Wait::kTimeout) {
        Log()->warn("LibreOffice instance {} killed: {} took longer than {}", index_,
                    input.filename().string(), FormatSeconds(options_.timeout));
        Stop(/*graceful=*/false);
        return FileError(input, ErrorCode::kTimeout,
                         "LibreOffice did not finish converting within " + FormatSeconds(options_.timeout));
    }
    if (wait != Wait::kLine) {
        const std::string why = WhyGone(wait);
        Log()->warn("LibreOffice instance {} crashed on {}: {}", index_, input.filename().string(), why);
        Stop(/*graceful=*/false);
        return FileError(input, ErrorCode::kMalformed, "LibreOffice crashed converting the document: " + why);
    }
    const auto answer = nlohmann::json::parse(line, nullptr, false);
    if (!answer.is_object() || !answer.contains("ok")) {
        Stop(/*graceful=*/false);
        return FileError(input, ErrorCode::kInternal,
                         "unexpected answer from the UNO bridge: " + line.substr(0, 200));
    }
    if (answer["ok"] == true && answer.contains("pages") && answer["pages"].is_number_integer()) {
        return answer["pages"].get<int>();
    }
    // The bridge reports any failure; when soffice died under it, the instance has to go as well.
    if (running_->office.Exited()) {
        const std::string why = WhyGone(Wait::kOfficeGone);
        Stop(/*graceful=*/false);
        return FileError(input, ErrorCode::kMalformed, "LibreOffice crashed converting the document: " + why);
    }
    const std::string error =
        answer.contains("error") && answer["error"].is_string() ? answer["error"].get<std::string>() : line;
    const bool encrypted = answer.contains("encrypted") && answer["encrypted"] == true;
    return FileError(input, encrypted ? ErrorCode::kUnsupported : ErrorCode::kMalformed, error);
}

// --- OfficePool ---

OfficePool::OfficePool(OfficePoolOptions options) : options_(std::move(options)) {
    const int count = std::max(1, options_.instances);
    for (int i = 0; i < count; ++i) instances_.push_back(std::make_unique<Instance>(options_, i));
    busy_.assign(instances_.size(), false);
}

OfficePool::~OfficePool() = default;

base::Result<int> OfficePool::Convert(const std::filesystem::path& input,
                                      const std::filesystem::path& output_pdf) {
    std::size_t chosen = 0;
    {
        std::unique_lock lock(mutex_);
        // A free instance that is already running first: the others then never start under light load.
        const auto pick = [&]() -> std::optional<std::size_t> {
            std::optional<std::size_t> idle;
            for (std::size_t i = 0; i < instances_.size(); ++i) {
                if (busy_[i]) continue;
                if (instances_[i]->Running()) return i;
                if (!idle) idle = i;
            }
            return idle;
        };
        std::optional<std::size_t> free;
        if (!instance_freed_.wait_until(lock, Clock::now() + options_.timeout,
                                        [&] { return (free = pick()).has_value(); })) {
            return FileError(input, ErrorCode::kTimeout,
                             "no LibreOffice instance became free within " + FormatSeconds(options_.timeout));
        }
        chosen = *free;
        busy_[chosen] = true;
    }
    auto result = instances_[chosen]->Convert(input, output_pdf);
    {
        std::lock_guard lock(mutex_);
        busy_[chosen] = false;
    }
    instance_freed_.notify_one();
    return result;
}

}  // namespace faxd::render
