// bench_mail's plumbing (see mail_bench.cpp): a temporary directory, free ports, the faxd child process, a
// small SMTP client on plain sockets, a keep-alive HTTP client (Boost.Beast), the store watcher that sees
// jobs appear in faxd's SQLite database, and per-thread CPU figures of a process from /proc.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mailbench {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
[[noreturn]] void Die(const std::string& what);

// Wall-clock nanoseconds since the epoch (CLOCK_REALTIME): the one time base shared with faxd's job
// created_ns, its drop box ids and its log, so latencies can be taken across the two processes.
std::int64_t NowNs();
double Ms(std::int64_t ns);

class TempDir {
public:
    TempDir();
    ~TempDir();
    void Keep() { keep_ = true; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    bool keep_ = false;
};

// A port free on 127.0.0.1 for TCP and UDP right now (SIP takes both); nothing listens on it.
int FreePort();

// Runs a program and waits for it; returns its exit status (-1 when it could not run).
int Run(const std::vector<std::string>& argv);

// ---------------------------------------------------------------- faxd

struct FaxdSettings {
    std::string binary;
    std::string sender_email;  // the [[users]] entry "mailbench" has it, so mail from it is faxed
    std::string fax_domain;
    std::string log_level = "info";  // info: the "mail <id> ...: N document(s) ..." line per mail
};

class Faxd {
public:
    Faxd(FaxdSettings settings, const std::filesystem::path& dir);
    ~Faxd() { Stop(); }
    void Start();  // returns once the REST API and the SMTP listener answer
    void Stop();   // SIGTERM, then SIGKILL after 30 s

    std::filesystem::path database() const { return dir_ / "faxd.db"; }
    std::filesystem::path token_file() const { return dir_ / "admin.token"; }
    std::filesystem::path log() const { return dir_ / "faxd.log"; }
    std::filesystem::path mail_in() const { return dir_ / "spool" / "mail" / "in"; }
    int http_port() const { return http_port_; }
    int smtp_port() const { return smtp_port_; }
    pid_t pid() const { return pid_; }
    std::string AdminToken() const;
    std::string LogTail() const;
    long PeakRssKb() const;

private:
    FaxdSettings settings_;
    std::filesystem::path dir_;
    std::filesystem::path config_;
    int http_port_ = 0, smtp_port_ = 0, sip_port_ = 0, relay_port_ = 0;
    pid_t pid_ = -1;
};

// ---------------------------------------------------------------- SMTP client

struct SmtpReply {
    int code = 0;  // 0: the connection failed
    std::string text;  // the last line, without CRLF
};

// One plain-text SMTP connection with blocking sockets (TCP_NODELAY, 60 s receive timeout). No pipelining.
class SmtpClient {
public:
    explicit SmtpClient(int port);
    ~SmtpClient();
    SmtpClient(const SmtpClient&) = delete;
    SmtpClient& operator=(const SmtpClient&) = delete;

    bool connected() const { return fd_ >= 0; }
    bool Send(std::string_view bytes);  // all of it, or false (and the connection is closed)
    SmtpReply Read();                   // one reply, multi-line replies as their last line
    SmtpReply Command(const std::string& line) { return Send(line + "\r\n") ? Read() : SmtpReply{}; }
    void Close();

private:
    int fd_ = -1;
    std::string buffer_;
};

// ---------------------------------------------------------------- HTTP client

struct HttpReply {
    int status = 0;  // 0: no answer
    std::string body;
    std::string error;
};

// One keep-alive connection to 127.0.0.1:port; reconnects once when the server closed it.
class HttpClient {
public:
    explicit HttpClient(int port);
    ~HttpClient();
    HttpReply Send(const std::string& method, const std::string& target, const std::string& authorization = "",
                   const std::string& content_type = "", const std::string& body = "");
    void Close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------- store watcher

// Polls faxd's SQLite database read-only (WAL: readers never block faxd's writer) every `interval` for jobs
// with a higher id than seen so far, and calls Seen(number, created_ns, reference, seen_ns) for each. One
// poll is one short read transaction on an indexed range (the jobs' primary key).
class StoreWatcher {
public:
    using SeenFn = std::function<void(const std::string& number, std::int64_t created_ns,
                                      const std::string& reference, std::int64_t seen_ns)>;
    StoreWatcher(const std::filesystem::path& database, std::chrono::microseconds interval, SeenFn seen);
    ~StoreWatcher();
    void Stop();

    struct Cost {
        long polls = 0;
        double poll_mean_ms = 0, poll_max_ms = 0;  // one poll's wall time (query + callbacks)
        double period_mean_ms = 0;                 // start to start of consecutive polls
        double cpu_seconds = 0;                    // the watcher thread's CPU time
        double seconds = 0;                        // how long it ran
    };
    Cost cost() const;  // after Stop()

private:
    void Loop(std::stop_token stop);
    std::filesystem::path database_;
    std::chrono::microseconds interval_;
    SeenFn seen_;
    Cost cost_;
    std::jthread thread_;
};

// ---------------------------------------------------------------- /proc

// CPU figures of one process, from /proc: its threads' run and run-queue wait times (schedstat) and the CPU
// time of its reaped children (Ghostscript, for faxd).
struct ProcessSample {
    std::int64_t at_ns = 0;
    struct Thread {
        std::int64_t run_ns = 0;   // on a CPU
        std::int64_t wait_ns = 0;  // runnable, waiting for a CPU
    };
    std::map<int, Thread> threads;  // by tid
    double children_cpu_seconds = 0;
    double self_cpu_seconds = 0;  // all threads, user + system
};
ProcessSample SampleProcess(pid_t pid);

// What each thread of `pid` runs, from one `gdb -batch` backtrace (the outermost faxd or Asio function),
// by tid; empty when gdb is missing or cannot attach. Stops the process for a second or two.
std::map<int, std::string> ThreadRolesByGdb(pid_t pid);

struct ThreadUse {
    int tid = 0;
    double run_s = 0, wait_s = 0, off_s = 0;  // off: neither running nor runnable (blocked: I/O, locks, idle)
};
// Threads by CPU time between two samples, busiest first (threads that appeared meanwhile count from 0).
std::vector<ThreadUse> ThreadsBetween(const ProcessSample& before, const ProcessSample& after);

}  // namespace mailbench
