// bench_api: the REST API of a faxd process under N concurrent keep-alive clients (Boost.Beast, synchronous,
// one connection per client thread). It starts its own faxd from the build directory with a temporary config
// (SQLite store and spool in a temp dir, free HTTP and SIP ports, [queue] sending_enabled = false so nothing
// is dialled, [render] office = false) and reads the administrator's token from the [http] admin_token_file
// it configured. Phases, each printed with requests/s and p50/p99 latency:
//   submit       POST /api/v1/faxes, multipart, a one-page PDF to 5550100 (as a user with level 2)
//   (settle)     cancels the submissions faxd has not rendered yet (or, --wait-render, waits for it to render
//                them all), so Ghostscript does not load the read phases
//   health       GET /api/v1/health: HTTP only, no authentication, no database (the baseline)
//   me           GET /api/v1/me: HTTP + token authentication
//   list         GET /api/v1/faxes?limit=50 as the administrator, following next_cursor up to 20 pages
//   list number  GET /api/v1/faxes?limit=50&number=5550100 (administrator)
//   list user    GET /api/v1/faxes?limit=50 as the user (their own faxes), following next_cursor
// --seed N first starts faxd once to create the database, stops it, bulk-inserts N historic final jobs of
// 1,000 users straight into SQLite (one transaction, prepared statements, as bench_queue loads its history),
// then starts faxd on it. Not a test: it prints figures.
//
// Usage: bench_api [--threads 16] [--seconds 5] [--submit-seconds 10] [--submit-count 1000] [--seed N]
//                  [--wait-render] [--settle-timeout 600] [--faxd PATH] [--keep]
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

// GCC 12 in C++20 needs <utility> before Asio.
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "seed.hpp"

#ifndef FAXD_BINARY
#define FAXD_BINARY "faxd"
#endif

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using asio::ip::tcp;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
[[noreturn]] void Die(const std::string& what) { throw Failure(what); }

struct Options {
    int threads = 16;
    double seconds = 5;
    double submit_seconds = 10;
    long submit_count = 1000;
    long seed = 0;
    double settle_timeout = 600;
    bool wait_render = false;
    std::string faxd = FAXD_BINARY;
    bool keep = false;
};

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto at = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(at, sorted.size() - 1)];
}

// ---------------------------------------------------------------- the environment

class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/bench_api.XXXXXX";
        if (!::mkdtemp(pattern.data())) Die("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        if (keep_) return;
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    void Keep() { keep_ = true; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    bool keep_ = false;
};

// A port free for TCP and UDP on 127.0.0.1 right now (SIP takes both).
int FreePort() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int tcp_socket = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
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

// A valid one-page PDF (A4, one line of Helvetica), with a correct cross-reference table.
std::string OnePagePdf() {
    const std::string content = "BT /F1 24 Tf 72 760 Td (faxd bench_api: one page) Tj ET\n";
    const std::vector<std::string> objects = {
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        "/Contents 4 0 R >>",
        "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "endstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    };
    std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const std::size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (std::size_t offset : offsets) {
        char line[24];
        std::snprintf(line, sizeof line, "%010zu 00000 n \n", offset);
        pdf += line;
    }
    pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
           std::to_string(xref) + "\n%%EOF\n";
    return pdf;
}

// ---------------------------------------------------------------- HTTP

struct Reply {
    int status = 0;  // 0: no answer (connection failed)
    std::string body;
    std::string error;
};

// One keep-alive connection; reconnects when the server closes it or a request fails.
class Client {
public:
    explicit Client(int port)
        : endpoint_(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)) {}

    Reply Send(http::verb method, const std::string& target, const std::string& authorization = "",
               const std::string& content_type = "", const std::string& body = "") {
        http::request<http::string_body> request{method, target, 11};
        request.set(http::field::host, "127.0.0.1");
        request.set(http::field::user_agent, "bench_api");
        if (!authorization.empty()) request.set(http::field::authorization, authorization);
        if (!content_type.empty()) request.set(http::field::content_type, content_type);
        request.body() = body;
        request.prepare_payload();
        Reply reply;
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (!connected_) {
                beast::error_code ec;
                stream_.emplace(io_);
                stream_->socket().connect(endpoint_, ec);
                if (ec) {
                    reply.error = "connect: " + ec.message();
                    stream_.reset();
                    continue;
                }
                stream_->socket().set_option(tcp::no_delay(true), ec);
                connected_ = true;
                buffer_.clear();
            }
            beast::error_code ec;
            http::write(*stream_, request, ec);
            http::response_parser<http::string_body> parser;
            parser.body_limit(64 * 1024 * 1024);
            if (!ec) http::read(*stream_, buffer_, parser, ec);
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

    void Close() {
        if (stream_) {
            beast::error_code ec;
            stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
            stream_->socket().close(ec);
        }
        stream_.reset();
        connected_ = false;
    }

private:
    asio::io_context io_;
    tcp::endpoint endpoint_;
    std::optional<beast::tcp_stream> stream_;
    beast::flat_buffer buffer_;
    bool connected_ = false;
};

std::string Describe(const Reply& reply) {
    if (reply.status == 0) return "no answer (" + reply.error + ")";
    std::string text = std::to_string(reply.status) + " " + reply.body.substr(0, 300);
    return text;
}

// The value of the last "next_cursor" of a list answer ("" for null): nlohmann::json writes keys sorted, so
// it is the list's last member and a search from the end finds it without parsing 50 faxes.
std::string NextCursor(const std::string& body) {
    const std::string key = "\"next_cursor\":";
    const auto at = body.rfind(key);
    if (at == std::string::npos) return "";
    const auto start = at + key.size();
    if (start >= body.size() || body[start] != '"') return "";
    const auto end = body.find('"', start + 1);
    return end == std::string::npos ? "" : body.substr(start + 1, end - start - 1);
}

// ---------------------------------------------------------------- faxd

class Faxd {
public:
    Faxd(const Options& options, const std::filesystem::path& dir) : options_(options), dir_(dir) {
        http_port_ = FreePort();
        sip_port_ = FreePort();
        while (sip_port_ == http_port_) sip_port_ = FreePort();
        config_ = dir / "faxd.toml";
        std::ofstream out(config_);
        out << "[log]\nlevel = \"warn\"\n"
            << "[spool]\ndirectory = \"" << (dir / "spool").string() << "\"\n"
            << "[store]\nurl = \"sqlite:" << database().string() << "\"\n"
            << "[queue]\nsending_enabled = false\n"
            << "[render]\noffice = false\n"
            << "[http]\nport = " << http_port_ << "\nadmin_token_file = \"" << token_file().string() << "\"\n"
            << "[sip]\nport = " << sip_port_ << "\n"
            << "[media]\nport_min = 0\n";
        if (!out) Die("cannot write " + config_.string());
    }
    ~Faxd() { Stop(); }

    std::filesystem::path database() const { return dir_ / "faxd.db"; }
    std::filesystem::path token_file() const { return dir_ / "admin.token"; }
    std::filesystem::path log() const { return dir_ / "faxd.log"; }
    int port() const { return http_port_; }
    pid_t pid() const { return pid_; }

    void Start() {
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
            ::execl(options_.faxd.c_str(), options_.faxd.c_str(), "--config", config_.c_str(),
                    static_cast<char*>(nullptr));
            std::fprintf(stderr, "bench_api: cannot run %s: %s\n", options_.faxd.c_str(),
                         std::strerror(errno));
            ::_exit(127);
        }
        // Ready: health answers and the administrator's token file is there.
        const auto deadline = SteadyClock::now() + 120s;
        Client client(http_port_);
        while (SteadyClock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                Die("faxd exited during start-up; its log:\n" + LogTail());
            }
            const Reply reply = client.Send(http::verb::get, "/api/v1/health");
            if (reply.status == 200 && std::filesystem::exists(token_file())) return;
            client.Close();
            std::this_thread::sleep_for(100ms);
        }
        Die("faxd did not answer /api/v1/health within 120 s; its log:\n" + LogTail());
    }

    void Stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        const auto deadline = SteadyClock::now() + 30s;
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (SteadyClock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(50ms);
        }
        pid_ = -1;
    }

    std::string AdminToken() const {
        std::ifstream in(token_file());
        std::string token;
        std::getline(in, token);
        if (token.empty()) Die("no token in " + token_file().string());
        return token;
    }

    // Peak resident memory and CPU seconds (user + system) of the process so far.
    long PeakRssKb() const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
        return 0;
    }
    double CpuSeconds() const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto close = text.rfind(')');
        if (close == std::string::npos) return 0;
        std::istringstream fields(text.substr(close + 2));
        std::string field;
        double ticks = 0;
        for (int i = 3; i <= 15 && fields >> field; ++i)
            if (i == 14 || i == 15) ticks += std::stod(field);
        return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
    }

    std::string LogTail() const {
        std::ifstream in(log());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
    }

private:
    const Options& options_;
    std::filesystem::path dir_;
    std::filesystem::path config_;
    int http_port_ = 0;
    int sip_port_ = 0;
    pid_t pid_ = -1;
};

// ---------------------------------------------------------------- seeding

struct PhaseResult {
    std::string name;
    long requests = 0;
    long errors = 0;
    double seconds = 0;
    double p50 = 0, p99 = 0;
    std::string first_error;
    double per_second() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

// One client's request: returns "" when the answer was the expected one, else what went wrong.
using Request = std::function<std::string(Client& client, int thread)>;

// Runs `request` from `threads` threads, each on its own keep-alive connection, for `seconds` or until
// `max_requests` were made (0: no limit). Each thread makes 5 requests first, not counted.
PhaseResult RunPhase(const std::string& name, int port, int threads, double seconds, long max_requests,
                     const Request& request) {
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
    std::atomic<long> remaining(max_requests > 0 ? max_requests : -1);
    std::atomic<long> errors(0);
    std::mutex error_mutex;
    std::string first_error;
    std::barrier start(threads + 1);
    std::atomic<bool> stop(false);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            Client client(port);
            for (int i = 0; i < 5 && max_requests == 0; ++i) request(client, t);
            auto& mine = latencies[static_cast<std::size_t>(t)];
            mine.reserve(100'000);
            start.arrive_and_wait();
            while (!stop.load(std::memory_order_relaxed)) {
                if (max_requests > 0 && remaining.fetch_sub(1) <= 0) break;
                const auto begin = SteadyClock::now();
                const std::string error = request(client, t);
                mine.push_back(Ms(SteadyClock::now() - begin));
                if (!error.empty()) {
                    ++errors;
                    std::lock_guard lock(error_mutex);
                    if (first_error.empty()) first_error = error;
                }
            }
        });
    }
    start.arrive_and_wait();
    const auto begin = SteadyClock::now();
    const auto deadline = begin + std::chrono::duration<double>(seconds);
    while (SteadyClock::now() < deadline) {
        if (max_requests > 0 && remaining.load() <= 0) break;
        std::this_thread::sleep_for(5ms);
    }
    stop = true;
    for (auto& worker : workers) worker.join();
    PhaseResult result;
    result.name = name;
    result.seconds = Seconds(SteadyClock::now() - begin);
    std::vector<double> all;
    for (const auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
    std::sort(all.begin(), all.end());
    result.requests = static_cast<long>(all.size());
    result.errors = errors;
    result.first_error = first_error;
    result.p50 = Percentile(all, 0.50);
    result.p99 = Percentile(all, 0.99);
    std::printf("  %-13s %8ld requests in %5.1f s, %ld errors\n", name.c_str(), result.requests,
                result.seconds, result.errors);
    std::fflush(stdout);
    return result;
}

std::string Expect(const Reply& reply, int status) { return reply.status == status ? "" : Describe(reply); }

Reply MustSend(Client& client, http::verb method, const std::string& target, const std::string& authorization,
               const std::string& content_type, const std::string& body, int status) {
    Reply reply = client.Send(method, target, authorization, content_type, body);
    if (reply.status != status && !(status == 201 && reply.status == 409)) {
        Die(std::string(http::to_string(method)) + " " + target + ": " + Describe(reply));
    }
    return reply;
}

// The level-2 user "bench" (made by --seed, else here) and a new API token of theirs.
std::string BenchUserToken(int port, const std::string& admin) {
    Client client(port);
    Reply made = MustSend(client, http::verb::post, "/api/v1/users", admin, "application/json",
                          R"({"login": "bench", "name": "bench_api", "permission": 2})", 201);
    std::int64_t id = 0;
    if (made.status == 201) {
        id = json::parse(made.body).at("id").get<std::int64_t>();
    } else {
        const Reply users = MustSend(client, http::verb::get, "/api/v1/users", admin, "", "", 200);
        const json list = json::parse(users.body);  // named: a temporary would die before the loop
        for (const json& user : list.at("users"))
            if (user.at("login") == "bench") id = user.at("id").get<std::int64_t>();
        if (id == 0) Die("no user 'bench'");
    }
    const Reply token = MustSend(client, http::verb::post, "/api/v1/users/" + std::to_string(id) + "/tokens",
                                 admin, "application/json", R"({"name": "bench_api"})", 201);
    return "Bearer " + json::parse(token.body).at("token").get<std::string>();
}

struct Settled {
    double seconds = -1;  // -1: timed out
    long cancelled = 0;
};

// After the submit phase faxd renders each submission with Ghostscript (about one a second on a small
// machine), which would load the read phases. This cancels the faxes not rendered yet and waits for those
// being rendered; with `wait_render` it waits until faxd has rendered them all instead.
Settled Settle(int port, const std::string& admin, bool wait_render, double timeout) {
    Client client(port);
    Settled settled;
    const auto begin = SteadyClock::now();
    auto ids = [&](const char* state, int limit) {
        const Reply reply = client.Send(
            http::verb::get, "/api/v1/faxes?limit=" + std::to_string(limit) + "&state=" + state, admin);
        if (reply.status != 200) Die(std::string("settle: ") + Describe(reply));
        std::vector<std::string> found;
        const json list = json::parse(reply.body);  // named: a temporary would die before the loop
        for (const json& fax : list.at("faxes")) found.push_back(fax.at("id"));
        return found;
    };
    while (Seconds(SteadyClock::now() - begin) < timeout) {
        const auto queued = ids("queued", 1000);
        if (!wait_render) {
            for (const std::string& id : queued) {
                // 409 when the renderer took it meanwhile.
                if (client.Send(http::verb::post, "/api/v1/faxes/" + id + "/cancel", admin).status == 200)
                    ++settled.cancelled;
            }
        }
        if (queued.empty() && ids("converting", 1).empty()) {
            settled.seconds = Seconds(SteadyClock::now() - begin);
            return settled;
        }
        std::this_thread::sleep_for(wait_render ? 250ms : 50ms);
    }
    std::fprintf(stderr, "bench_api: faxes still queued or being rendered after %.0f s; measuring anyway\n",
                 timeout);
    return settled;
}

// Follows next_cursor from the first page, at most `pages` pages, then starts again.
Request WalkPages(const std::string& query, const std::string& authorization, int threads, int pages) {
    struct Walk {
        std::string cursor;
        int page = 0;
    };
    auto walks = std::make_shared<std::vector<Walk>>(static_cast<std::size_t>(threads));
    return [=](Client& client, int thread) -> std::string {
        Walk& walk = (*walks)[static_cast<std::size_t>(thread)];
        std::string target = "/api/v1/faxes?" + query;
        if (!walk.cursor.empty()) target += "&cursor=" + walk.cursor;
        const Reply reply = client.Send(http::verb::get, target, authorization);
        if (reply.status != 200) {
            walk = Walk{};
            return Describe(reply);
        }
        walk.cursor = NextCursor(reply.body);
        if (walk.cursor.empty() || ++walk.page >= pages) walk = Walk{};
        return "";
    };
}

void PrintTable(const std::vector<PhaseResult>& results, const Options& options) {
    const PhaseResult* health = nullptr;
    for (const auto& r : results)
        if (r.name == "health") health = &r;
    std::printf("\nbench_api: %d client threads, keep-alive; latency in ms; x health = p50 / p50 of health\n",
                options.threads);
    std::printf("%-14s %9s %7s %10s %9s %9s %9s\n", "phase", "requests", "errors", "req/s", "p50", "p99",
                "x health");
    for (const auto& r : results) {
        char ratio[32] = "-";
        if (health && health->p50 > 0 && &r != health)
            std::snprintf(ratio, sizeof ratio, "%.1f", r.p50 / health->p50);
        std::printf("%-14s %9ld %7ld %10.1f %9.2f %9.2f %9s\n", r.name.c_str(), r.requests, r.errors,
                    r.per_second(), r.p50, r.p99, ratio);
    }
    for (const auto& r : results)
        if (!r.first_error.empty())
            std::printf("first error of %s: %s\n", r.name.c_str(), r.first_error.c_str());
}

int Bench(const Options& options) {
    TempDir dir;
    if (options.keep) dir.Keep();
    std::printf("bench_api: faxd %s, work dir %s\n", options.faxd.c_str(), dir.path().c_str());
    Faxd faxd(options, dir.path());

    double seed_seconds = 0;
    if (options.seed > 0) {
        faxd.Start();  // creates the database, the administrator and the token file
        faxd.Stop();
        std::printf("seeding %ld historic jobs of %d users into %s ...\n", options.seed, kSeedUsers,
                    faxd.database().c_str());
        std::fflush(stdout);
        const auto begin = SteadyClock::now();
        Seed(faxd.database(), options.seed);
        seed_seconds = Seconds(SteadyClock::now() - begin);
    }
    const auto start_begin = SteadyClock::now();
    faxd.Start();
    const double start_seconds = Seconds(SteadyClock::now() - start_begin);
    const std::string admin = "Bearer " + faxd.AdminToken();
    const std::string user = BenchUserToken(faxd.port(), admin);
    const int port = faxd.port();

    const std::string pdf = OnePagePdf();
    const std::string boundary = "benchapi7d1f0c2b";
    const std::string form =
        "--" + boundary + "\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n5550100\r\n--" + boundary +
        "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"page.pdf\"\r\n"
        "Content-Type: application/pdf\r\n\r\n" +
        pdf + "\r\n--" + boundary + "--\r\n";
    const std::string form_type = "multipart/form-data; boundary=" + boundary;

    std::vector<PhaseResult> results;
    std::printf("phases:\n");
    const double cpu_before_submit = faxd.CpuSeconds();
    results.push_back(RunPhase(
        "submit", port, options.threads, options.submit_seconds, options.submit_count,
        [&](Client& client, int) {
            return Expect(client.Send(http::verb::post, "/api/v1/faxes", user, form_type, form), 201);
        }));
    const Settled settled = Settle(port, admin, options.wait_render, options.settle_timeout);
    const double submit_cpu = faxd.CpuSeconds() - cpu_before_submit;

    results.push_back(RunPhase("health", port, options.threads, options.seconds, 0, [](Client& client, int) {
        return Expect(client.Send(http::verb::get, "/api/v1/health"), 200);
    }));
    results.push_back(RunPhase(
        "me (auth)", port, options.threads, options.seconds, 0,
        [&](Client& client, int) { return Expect(client.Send(http::verb::get, "/api/v1/me", admin), 200); }));
    results.push_back(RunPhase("list", port, options.threads, options.seconds, 0,
                               WalkPages("limit=50", admin, options.threads, 20)));
    results.push_back(
        RunPhase("list number", port, options.threads, options.seconds, 0, [&](Client& client, int) {
            return Expect(client.Send(http::verb::get, "/api/v1/faxes?limit=50&number=5550100", admin), 200);
        }));
    results.push_back(RunPhase("list user", port, options.threads, options.seconds, 0,
                               WalkPages("limit=50", user, options.threads, 20)));

    const long rss_kb = faxd.PeakRssKb();
    faxd.Stop();

    PrintTable(results, options);
    std::printf("\nfaxd: start %.2f s%s, peak RSS %ld MiB\n", start_seconds,
                options.seed > 0 ? " (on the seeded database)" : "", rss_kb / 1024);
    if (options.seed > 0) {
        std::error_code ec;
        std::printf("seed: %ld jobs in %.1f s (%.0f rows/s), database %.0f MiB\n", options.seed, seed_seconds,
                    static_cast<double>(options.seed) / seed_seconds,
                    static_cast<double>(std::filesystem::file_size(faxd.database(), ec)) / (1024.0 * 1024.0));
    }
    const long submitted = results.front().requests - results.front().errors;
    std::printf(
        "submit: %ld faxes; %ld cancelled before rendering, the others rendered by faxd; settled %s%.1f s "
        "after the phase; faxd CPU (without its Ghostscript children) %.1f s\n",
        submitted, settled.cancelled, settled.seconds < 0 ? "(not quite) " : "",
        settled.seconds < 0 ? options.settle_timeout : settled.seconds, submit_cpu);
    std::printf(
        "list: pages of 50 following next_cursor (at most 20 pages deep) as the administrator; "
        "list user: the same as a level-2 user; list number: first page of number=5550100\n");
    long errors = 0;
    for (const auto& r : results) errors += r.errors;
    return errors == 0 ? 0 : 1;
}

Options Parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) Die(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--threads") {
            options.threads = std::stoi(value());
        } else if (arg == "--seconds") {
            options.seconds = std::stod(value());
        } else if (arg == "--submit-seconds") {
            options.submit_seconds = std::stod(value());
        } else if (arg == "--submit-count") {
            options.submit_count = std::stol(value());
        } else if (arg == "--seed") {
            options.seed = std::stol(value());
        } else if (arg == "--settle-timeout") {
            options.settle_timeout = std::stod(value());
        } else if (arg == "--wait-render") {
            options.wait_render = true;
        } else if (arg == "--faxd") {
            options.faxd = value();
        } else if (arg == "--keep") {
            options.keep = true;
        } else if (arg == "--write-pdf") {  // the submitted document, to look at
            std::ofstream(value(), std::ios::binary) << OnePagePdf();
            std::exit(0);
        } else if (arg == "--help" || arg == "-h") {
            std::printf(
                "usage: bench_api [--threads 16] [--seconds 5] [--submit-seconds 10] [--submit-count 1000]\n"
                "                 [--seed N] [--wait-render] [--settle-timeout 600] [--faxd PATH] "
                "[--keep]\n");
            std::exit(0);
        } else {
            Die("unknown option " + arg + " (--help)");
        }
    }
    if (options.threads < 1) Die("--threads: at least 1");
    if (options.submit_count < 1) options.submit_count = 0;
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    try {
        return Bench(Parse(argc, argv));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "bench_api: %s\n", error.what());
        return 1;
    }
}
