// See support.hpp.
#include "support.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// GCC 12 in C++20 needs <utility> before Asio.
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace mailbench {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

void Die(const std::string& what) { throw Failure(what); }

std::int64_t NowNs() {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

double Ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/bench_mail.XXXXXX";
    if (!::mkdtemp(pattern.data())) Die("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    if (keep_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

int FreePort() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int tcp_socket = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (::bind(tcp_socket, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::getsockname(tcp_socket, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            ::close(tcp_socket);
            continue;
        }
        const int udp_socket = ::socket(AF_INET, SOCK_DGRAM, 0);
        const bool udp_free = ::bind(udp_socket, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(udp_socket);
        ::close(tcp_socket);
        if (udp_free) return ntohs(address.sin_port);
    }
    Die("no free port");
}

int Run(const std::vector<std::string>& argv) {
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        std::vector<char*> args;
        for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// ---------------------------------------------------------------- faxd

Faxd::Faxd(FaxdSettings settings, const std::filesystem::path& dir) : settings_(std::move(settings)), dir_(dir) {
    std::vector<int> ports;
    auto fresh = [&] {
        for (;;) {
            const int port = FreePort();
            if (std::find(ports.begin(), ports.end(), port) == ports.end()) {
                ports.push_back(port);
                return port;
            }
        }
    };
    http_port_ = fresh();
    smtp_port_ = fresh();
    sip_port_ = fresh();
    relay_port_ = fresh();  // nothing listens there; with receipts off faxd never needs it
    config_ = dir / "faxd.toml";
    std::ofstream out(config_);
    out << "[log]\nlevel = \"" << settings_.log_level << "\"\n"
        << "[spool]\ndirectory = \"" << (dir / "spool").string() << "\"\n"
        << "[store]\nurl = \"sqlite:" << database().string() << "\"\n"
        << "[queue]\nsending_enabled = false\n"
        << "[render]\noffice = false\n"
        << "[http]\nport = " << http_port_ << "\nadmin_token_file = \"" << token_file().string() << "\"\n"
        << "[sip]\nport = " << sip_port_ << "\n"
        << "[media]\nport_min = 0\n"
        << "[mail]\nenabled = true\nfax_domain = \"" << settings_.fax_domain << "\"\n"
        << "from_address = \"faxd@" << settings_.fax_domain << "\"\n"
        << "return_receipt = false\nenqueued_receipt = false\nfailed_call_notice = false\n"
        << "[mail.smtp]\nlisten = \"127.0.0.1\"\nport = " << smtp_port_ << "\n"
        << "[mail.relay]\nhost = \"127.0.0.1\"\nport = " << relay_port_ << "\n"
        << "[[users]]\nlogin = \"mailbench\"\nname = \"bench_mail sender\"\nemail = \""
        << settings_.sender_email << "\"\npermission = 2\n";
    if (!out) Die("cannot write " + config_.string());
}

void Faxd::Start() {
    pid_ = ::fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
        const int fd = ::open(log().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        const int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) ::dup2(null, 0);
        ::execl(settings_.binary.c_str(), settings_.binary.c_str(), "--config", config_.c_str(),
                static_cast<char*>(nullptr));
        std::fprintf(stderr, "bench_mail: cannot run %s: %s\n", settings_.binary.c_str(), std::strerror(errno));
        ::_exit(127);
    }
    // Ready: health answers, the administrator's token file is there and the SMTP listener greets.
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    HttpClient client(http_port_);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            Die("faxd exited during start-up; its log:\n" + LogTail());
        }
        const HttpReply reply = client.Send("GET", "/api/v1/health");
        if (reply.status == 200 && std::filesystem::exists(token_file())) {
            SmtpClient smtp(smtp_port_);
            if (smtp.connected() && smtp.Read().code == 220) {
                smtp.Command("QUIT");
                return;
            }
        }
        client.Close();
        std::this_thread::sleep_for(100ms);
    }
    Die("faxd did not get ready within 120 s; its log:\n" + LogTail());
}

void Faxd::Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    pid_ = -1;
}

std::string Faxd::AdminToken() const {
    std::ifstream in(token_file());
    std::string token;
    std::getline(in, token);
    if (token.empty()) Die("no token in " + token_file().string());
    return token;
}

std::string Faxd::LogTail() const {
    std::ifstream in(log());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

long Faxd::PeakRssKb() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return 0;
}

// ---------------------------------------------------------------- SMTP client

SmtpClient::SmtpClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        Close();
        return;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{60, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

SmtpClient::~SmtpClient() { Close(); }

void SmtpClient::Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
}

bool SmtpClient::Send(std::string_view bytes) {
    while (!bytes.empty() && fd_ >= 0) {
        const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) {
            Close();
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return fd_ >= 0;
}

SmtpReply SmtpClient::Read() {
    for (;;) {
        // Complete lines: "250-..." continues, "250 ..." ends the reply.
        std::size_t start = 0;
        for (;;) {
            const auto end = buffer_.find("\r\n", start);
            if (end == std::string::npos) break;
            const std::string line = buffer_.substr(start, end - start);
            start = end + 2;
            if (line.size() >= 3 && (line.size() == 3 || line[3] == ' ')) {
                buffer_.erase(0, start);
                SmtpReply reply;
                reply.code = std::atoi(line.substr(0, 3).c_str());
                reply.text = line;
                return reply;
            }
        }
        if (fd_ < 0) return {};
        char chunk[4096];
        const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            Close();
            return {};
        }
        buffer_.append(chunk, static_cast<std::size_t>(got));
    }
}

// ---------------------------------------------------------------- HTTP client

struct HttpClient::Impl {
    asio::io_context io;
    tcp::endpoint endpoint;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
};

HttpClient::HttpClient(int port) : impl_(std::make_unique<Impl>()) {
    impl_->endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
    if (impl_->stream) {
        beast::error_code ec;
        impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
        impl_->stream->socket().close(ec);
    }
    impl_->stream.reset();
    impl_->buffer.clear();
}

HttpReply HttpClient::Send(const std::string& method, const std::string& target, const std::string& authorization,
                           const std::string& content_type, const std::string& body) {
    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::user_agent, "bench_mail");
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    if (!content_type.empty()) request.set(http::field::content_type, content_type);
    request.body() = body;
    request.prepare_payload();
    HttpReply reply;
    for (int attempt = 0; attempt < 2; ++attempt) {
        beast::error_code ec;
        if (!impl_->stream) {
            impl_->stream.emplace(impl_->io);
            impl_->stream->socket().connect(impl_->endpoint, ec);
            if (ec) {
                reply.error = "connect: " + ec.message();
                impl_->stream.reset();
                continue;
            }
            impl_->stream->socket().set_option(tcp::no_delay(true), ec);
        }
        http::write(*impl_->stream, request, ec);
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        if (!ec) http::read(*impl_->stream, impl_->buffer, parser, ec);
        if (ec) {
            reply.error = ec.message();
            Close();
            continue;  // a keep-alive connection the server had closed: once more on a new one
        }
        auto& response = parser.get();
        reply.status = static_cast<int>(response.result_int());
        reply.body = std::move(response.body());
        reply.error.clear();
        if (!response.keep_alive()) Close();
        return reply;
    }
    return reply;
}

// ---------------------------------------------------------------- store watcher

StoreWatcher::StoreWatcher(const std::filesystem::path& database, std::chrono::microseconds interval, SeenFn seen)
    : database_(database), interval_(interval), seen_(std::move(seen)) {
    thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

StoreWatcher::~StoreWatcher() { Stop(); }

void StoreWatcher::Stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    thread_.join();
}

StoreWatcher::Cost StoreWatcher::cost() const { return cost_; }

void StoreWatcher::Loop(std::stop_token stop) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(database_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "bench_mail: cannot open %s read-only\n", database_.c_str());
        sqlite3_close(db);
        return;
    }
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* query = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT id, number, created_ns, reference FROM jobs WHERE id > ?1 ORDER BY id", -1,
                           &query, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "bench_mail: watcher query: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return;
    }
    std::int64_t last_id = 0;
    double poll_total_ms = 0;
    const auto started = std::chrono::steady_clock::now();
    auto previous = started;
    while (!stop.stop_requested()) {
        const auto begin = std::chrono::steady_clock::now();
        if (cost_.polls > 0) cost_.period_mean_ms += std::chrono::duration<double, std::milli>(begin - previous).count();
        previous = begin;
        sqlite3_bind_int64(query, 1, last_id);
        std::int64_t seen_ns = 0;
        int rc;
        while ((rc = sqlite3_step(query)) == SQLITE_ROW) {
            // The read transaction's snapshot is taken at the first step: every job committed before
            // this moment is in it, so this is when the rows became visible here (at the latest).
            if (seen_ns == 0) seen_ns = NowNs();
            last_id = std::max(last_id, static_cast<std::int64_t>(sqlite3_column_int64(query, 0)));
            const auto* number = reinterpret_cast<const char*>(sqlite3_column_text(query, 1));
            const auto* reference = reinterpret_cast<const char*>(sqlite3_column_text(query, 3));
            seen_(number ? number : "", sqlite3_column_int64(query, 2), reference ? reference : "", seen_ns);
        }
        sqlite3_reset(query);  // ends the read transaction: faxd's checkpoints are never held back
        const double poll_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
        poll_total_ms += poll_ms;
        cost_.poll_max_ms = std::max(cost_.poll_max_ms, poll_ms);
        ++cost_.polls;
        (void)rc;  // SQLITE_BUSY or an error: simply tried again next time
        std::this_thread::sleep_until(begin + interval_);
    }
    sqlite3_finalize(query);
    sqlite3_close(db);
    timespec cpu{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    cost_.cpu_seconds = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
    cost_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (cost_.polls > 0) cost_.poll_mean_ms = poll_total_ms / static_cast<double>(cost_.polls);
    if (cost_.polls > 1) cost_.period_mean_ms /= static_cast<double>(cost_.polls - 1);
}

// ---------------------------------------------------------------- /proc

ProcessSample SampleProcess(pid_t pid) {
    ProcessSample sample;
    sample.at_ns = NowNs();
    const std::filesystem::path base = "/proc/" + std::to_string(pid);
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(base / "task", ec)) {
        std::ifstream in(task.path() / "schedstat");
        ProcessSample::Thread thread;
        if (in >> thread.run_ns >> thread.wait_ns) {
            sample.threads[std::atoi(task.path().filename().c_str())] = thread;
        }
    }
    std::ifstream in(base / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close != std::string::npos) {
        std::istringstream fields(text.substr(close + 2));
        std::string field;
        const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
        for (int i = 3; i <= 17 && fields >> field; ++i) {
            if (i == 14 || i == 15) sample.self_cpu_seconds += std::stod(field) / tick;
            if (i == 16 || i == 17) sample.children_cpu_seconds += std::stod(field) / tick;
        }
    }
    return sample;
}

std::map<int, std::string> ThreadRolesByGdb(pid_t pid) {
    std::map<int, std::string> roles;
    const std::string command = "gdb -p " + std::to_string(pid) +
                                " -batch -nx -ex 'set pagination off' -ex 'thread apply all bt' 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return roles;
    std::string text;
    char chunk[4096];
    while (const std::size_t got = std::fread(chunk, 1, sizeof chunk, pipe)) text.append(chunk, got);
    ::pclose(pipe);
    // Each thread's block starts "Thread 19 (Thread 0x... (LWP 17795) "faxd"):"; the first of these functions
    // found in it says what the thread is for.
    static const std::pair<const char*, const char*> kRoles[] = {
        {"MailGateway::IntakeLoop", "mail intake"},    {"MailGateway::NoticeLoop", "mail notices"},
        {"MailGateway::WatchLoop", "mail alert watch"}, {"FaxServer::RenderLoop", "render"},
        {"FaxServer::DispatchLoop", "dispatch"},        {"boost::asio::thread_pool", "SMTP delivery pool"},
        {"AsioSmtpServer::RunLoop", "SMTP io"},         {"BeastHttpServer::RunLoop", "HTTP io"},
        {"MailOutbox::Run", "mail outbox"},             {"WebhookSender::Run", "webhooks"},
        {"EventHub::Run", "events"},                    {"SipEndpoint", "SIP"},
    };
    auto name = [&](int tid, const std::string& block) {
        if (tid == 0) return;
        for (const auto& [needle, role] : kRoles) {
            if (block.find(needle) != std::string::npos) {
                roles[tid] = role;
                return;
            }
        }
        roles[tid] = tid == pid ? "main" : "other";
    };
    std::size_t at = text.find("\nThread ");
    while (at != std::string::npos) {
        const std::size_t next = text.find("\nThread ", at + 1);
        const std::string block = text.substr(at, next == std::string::npos ? std::string::npos : next - at);
        const auto lwp = block.find("(LWP ");
        name(lwp == std::string::npos ? 0 : std::atoi(block.c_str() + lwp + 5), block);
        at = next;
    }
    return roles;
}

std::vector<ThreadUse> ThreadsBetween(const ProcessSample& before, const ProcessSample& after) {
    const double wall = static_cast<double>(after.at_ns - before.at_ns) / 1e9;
    std::vector<ThreadUse> out;
    for (const auto& [tid, now] : after.threads) {
        ProcessSample::Thread then;
        if (auto it = before.threads.find(tid); it != before.threads.end()) then = it->second;
        ThreadUse use;
        use.tid = tid;
        use.run_s = static_cast<double>(now.run_ns - then.run_ns) / 1e9;
        use.wait_s = static_cast<double>(now.wait_ns - then.wait_ns) / 1e9;
        use.off_s = std::max(0.0, wall - use.run_s - use.wait_s);
        out.push_back(use);
    }
    std::sort(out.begin(), out.end(), [](const ThreadUse& a, const ThreadUse& b) { return a.run_s > b.run_s; });
    return out;
}

}  // namespace mailbench
