// bench_mail: mail to fax through faxd's SMTP listener (issue 7), against the REST API in the same run.
//
// It starts its own faxd (temporary directory, SQLite store, [queue] sending_enabled = false so nothing is
// dialled, [render] office = false, [mail] on with the SMTP listener on a free port, receipts off and the
// relay on a port where nothing listens, a user "mailbench" whose email is the From address) and makes a
// one-page PDF once with Ghostscript. Then:
//   mail phase   C clients (one thread and one kept-open SMTP connection each: EHLO once, then MAIL, RCPT,
//                DATA per mail, no pipelining) deliver N mails, each with the PDF attached, to a number of
//                its own (<unique number>@fax.test). Per mail it records the end of DATA (just before
//                ".\r\n" is sent), the 250 reply (and its queue id), and when the job is queued.
//   REST phase   the same C clients, each on a keep-alive HTTP connection, POST /api/v1/faxes (multipart,
//                the same PDF, a number of its own) N times; latency is request to 201 and to queued.
// Each phase starts after one warm-up mail or request per client is queued (not counted).
//
// When a job is queued: a watcher thread polls faxd's SQLite database read-only every --poll-us (default
// 2 ms) for jobs with a higher id than seen (WAL mode: readers never block faxd's writer; each poll is one
// short read transaction on the primary key) and maps each job to its mail or request by the number. The
// time of the poll that first returns it is when the job was visible to any reader (the REST API reads the
// same store); this is late by at most one poll period, and the watcher's cost (polls, time per poll, its
// CPU time) is printed. Two cross-checks need no polling: the job's created_ns (taken by faxd just before
// its store transaction) and the intake's log line "mail <id> ...: 1 document(s) to 1 recipient(s)"
// (written after the commit, millisecond timestamps), matched by the queue id of the 250 reply; the drop
// box id in that reply is faxd's wall clock when it started writing the mail. From these it prints where a
// mail's time goes, stage by stage, and the busiest faxd threads (/proc schedstat: on CPU, waiting for a
// CPU, blocked) over the mail phase.
//
// Usage: bench_mail [--mails 2000] [--clients 8] [--rest N (default: --mails; 0: skip)] [--rate R]
//                   [--poll-us 2000] [--settle-timeout 600] [--faxd PATH] [--keep] [--no-gdb]
// --rate R paces both phases at R mails (requests) per second in total (default: as fast as the clients
// go). faxd's threads have no names, so after the mail phase one `gdb -batch` backtrace (if gdb is there;
// --no-gdb skips it) tells which is the mail intake, the renderer, the SMTP pool... for the thread table.
// Not a test: it prints figures; the exit status is 1 only when mails or requests failed.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "support.hpp"

#ifndef FAXD_BINARY
#define FAXD_BINARY "faxd"
#endif

namespace {

using namespace mailbench;
using namespace std::chrono_literals;

constexpr const char* kSender = "bench@example.com";
constexpr const char* kFaxDomain = "fax.test";

struct Options {
    long mails = 2000;
    int clients = 8;
    long rest = -1;  // -1: as many as mails
    double rate = 0;
    long poll_us = 2000;
    double settle_timeout = 600;
    std::string faxd = FAXD_BINARY;
    bool keep = false;
    bool gdb = true;  // name faxd's threads with one gdb backtrace after the mail phase
};

// What a number stands for: its last seven digits are a kind and a six-digit index.
enum Kind : int { kMail = 5, kRest = 6, kMailWarmUp = 7, kRestWarmUp = 8 };

std::string Number(Kind kind, long index) {
    char number[32];
    std::snprintf(number, sizeof number, "212%d%06ld", static_cast<int>(kind), index);
    return number;
}

double Percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(at, values.size() - 1)];
}

double CpuSecondsOfSelf() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------- the jobs the watcher saw

struct Seen {
    std::int64_t seen_ns = 0;  // 0: not (yet) seen
    std::int64_t created_ns = 0;
    std::string reference;
};

class Tracker {
public:
    void Prepare(Kind kind, long count) {
        std::lock_guard lock(mutex_);
        seen_[kind].assign(static_cast<std::size_t>(count), Seen{});
        counts_[kind] = 0;
    }
    void OnSeen(const std::string& number, std::int64_t created_ns, const std::string& reference,
                std::int64_t seen_ns) {
        std::lock_guard lock(mutex_);
        if (number.size() < 7) return;
        const int kind = number[number.size() - 7] - '0';
        const long index = std::atol(number.substr(number.size() - 6).c_str());
        auto it = seen_.find(kind);
        if (it == seen_.end() || index >= static_cast<long>(it->second.size())) return;
        Seen& slot = it->second[static_cast<std::size_t>(index)];
        if (slot.seen_ns != 0) return;
        slot = Seen{seen_ns, created_ns, reference};
        ++counts_[kind];
        changed_.notify_all();
    }
    // Until `count` jobs of `kind` were seen; false at the deadline.
    bool WaitFor(Kind kind, long count, std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        return changed_.wait_until(lock, deadline, [&] { return counts_[kind] >= count; });
    }
    long Count(Kind kind) {
        std::lock_guard lock(mutex_);
        return counts_[kind];
    }
    std::vector<Seen> Get(Kind kind) {
        std::lock_guard lock(mutex_);
        return seen_[kind];
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<int, std::vector<Seen>> seen_;
    std::map<int, long> counts_;
};

// ---------------------------------------------------------------- documents

std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The one-page PDF, made once by Ghostscript's pdfwrite from a few lines of PostScript.
std::string MakePdf(const std::filesystem::path& dir) {
    const auto path = dir / "page.pdf";
    const std::string program =
        "/Helvetica findfont 22 scalefont setfont 72 760 moveto (faxd bench_mail: one page by mail) show "
        "/Helvetica findfont 12 scalefont setfont "
        "72 720 moveto (A one-page PDF attached to each mail, made once by Ghostscript.) show "
        "72 700 moveto (The same file goes to POST /api/v1/faxes in the REST phase.) show showpage";
    const int status = Run({"gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
                            "-sPAPERSIZE=a4", "-dFIXEDMEDIA", "-o", path.string(), "-c", program});
    std::string pdf = ReadFile(path);
    if (status != 0 || pdf.rfind("%PDF-", 0) != 0) Die("gs could not make " + path.string());
    return pdf;
}

std::string Base64Lines(const std::string& data) {
    static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out, line;
    for (std::size_t i = 0; i < data.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, data.size() - i);
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 3; ++k)
            v = (v << 8) | (k < n ? static_cast<unsigned char>(data[i + k]) : 0u);
        line += kAlphabet[(v >> 18) & 63];
        line += kAlphabet[(v >> 12) & 63];
        line += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
        line += n > 2 ? kAlphabet[v & 63] : '=';
        if (line.size() >= 76) {
            out += line + "\r\n";
            line.clear();
        }
    }
    if (!line.empty()) out += line + "\r\n";
    return out;
}

// A mail as a mail client writes it: a short text (too short to become a page of its own) and the PDF.
class MailMaker {
public:
    explicit MailMaker(const std::string& pdf) {
        char date[64];
        const std::time_t now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
        date_ = date;
        tag_ = std::to_string(::getpid()) + "." + std::to_string(now);
        body_ =
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"=_bench_mail_7f3a\"\r\n"
            "\r\n"
            "This is a multi-part message in MIME format.\r\n"
            "--=_bench_mail_7f3a\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            "See PDF.\r\n"
            "--=_bench_mail_7f3a\r\n"
            "Content-Type: application/pdf; name=\"page.pdf\"\r\n"
            "Content-Disposition: attachment; filename=\"page.pdf\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "\r\n" +
            Base64Lines(pdf) + "--=_bench_mail_7f3a--\r\n";
    }
    // Without the terminating ".\r\n"; ends with CRLF.
    std::string Make(Kind kind, long index) const {
        const std::string number = Number(kind, index);
        return "From: bench_mail <" + std::string(kSender) + ">\r\nTo: <" + number + "@" + kFaxDomain +
               ">\r\nSubject: bench mail " + number + "\r\nDate: " + date_ + "\r\nMessage-ID: <" + number +
               "." + tag_ + "@bench.example.com>\r\n" + body_;
    }

private:
    std::string date_, tag_, body_;
};

// ---------------------------------------------------------------- phases

struct Record {
    std::int64_t start_ns = 0;  // mail: the end of DATA (before ".\r\n"); REST: before the request
    std::int64_t reply_ns = 0;  // mail: the reply to ".\r\n"; REST: the response
    int code = 0;
    std::string queue_id;  // mail: from "250 2.0.0 Ok: queued as <id>"
};

struct PhaseResult {
    std::string name;
    std::vector<Record> records;
    std::int64_t start_ns = 0, clients_done_ns = 0, drained_ns = 0;
    long ok = 0, errors = 0;
    bool drained = false;
    std::string first_error;
    ProcessSample faxd_before, faxd_after;
    double bench_cpu = 0;
};

// One client's work: `prepare` connects (and makes its warm-up item), `item(index, record)` does one mail or
// request and returns "" or what went wrong.
struct ClientWork {
    std::function<std::string()> prepare;
    std::function<std::string(long index, Record& record)> item;
};

PhaseResult RunPhase(const std::string& name, Kind kind, Kind warm_up_kind, long count, const Options& options,
                     Faxd& faxd, Tracker& tracker, const std::function<ClientWork()>& make_client) {
    PhaseResult result;
    result.name = name;
    result.records.resize(static_cast<std::size_t>(count));
    tracker.Prepare(kind, count);
    tracker.Prepare(warm_up_kind, options.clients);
    std::atomic<long> next{0};
    std::atomic<int> prepared{0};
    std::mutex error_mutex;
    std::atomic<long> errors{0};
    auto note_error = [&](const std::string& error) {
        ++errors;
        std::lock_guard lock(error_mutex);
        if (result.first_error.empty()) result.first_error = error;
    };
    std::barrier start(options.clients + 1);
    std::int64_t start_ns = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < options.clients; ++t) {
        threads.emplace_back([&] {
            ClientWork work = make_client();
            if (const std::string error = work.prepare(); !error.empty()) note_error("warm-up: " + error);
            ++prepared;
            start.arrive_and_wait();
            for (;;) {
                const long index = next.fetch_add(1);
                if (index >= count) break;
                if (options.rate > 0) {
                    const auto due = std::chrono::system_clock::time_point(std::chrono::nanoseconds(
                        start_ns + static_cast<std::int64_t>(static_cast<double>(index) * 1e9 / options.rate)));
                    std::this_thread::sleep_until(due);
                }
                Record& record = result.records[static_cast<std::size_t>(index)];
                if (const std::string error = work.item(index, record); !error.empty()) note_error(error);
            }
        });
    }
    while (prepared.load() < options.clients) std::this_thread::sleep_for(1ms);
    if (!tracker.WaitFor(warm_up_kind, options.clients, std::chrono::steady_clock::now() + 120s))
        std::fprintf(stderr, "bench_mail: %s: warm-up items not all queued after 120 s\n", name.c_str());
    result.faxd_before = SampleProcess(faxd.pid());
    const double bench_cpu_before = CpuSecondsOfSelf();
    start_ns = result.start_ns = NowNs();
    start.arrive_and_wait();
    for (auto& thread : threads) thread.join();
    result.clients_done_ns = NowNs();
    long accepted = 0;
    for (const Record& record : result.records) accepted += record.code == 250 || record.code == 201;
    result.ok = accepted;
    result.errors = errors;
    result.drained = tracker.WaitFor(
        kind, accepted,
        std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                               std::chrono::duration<double>(options.settle_timeout)));
    result.drained_ns = NowNs();
    result.faxd_after = SampleProcess(faxd.pid());
    result.bench_cpu = CpuSecondsOfSelf() - bench_cpu_before;
    if (!result.drained)
        std::fprintf(stderr, "bench_mail: %s: only %ld of %ld jobs queued after %.0f s\n", name.c_str(),
                     tracker.Count(kind), accepted, options.settle_timeout);
    std::printf("  %-5s %ld of %ld accepted, %ld errors, all queued %.1f s after the start\n", name.c_str(),
                accepted, count, result.errors, Ms(result.drained_ns - result.start_ns) / 1000);
    std::fflush(stdout);
    return result;
}

// One SMTP client: EHLO once, then MAIL/RCPT/DATA per mail on the same connection.
ClientWork SmtpWork(int port, const MailMaker& maker, std::atomic<int>& warm_up_index) {
    auto smtp = std::make_shared<std::unique_ptr<SmtpClient>>();
    auto connect = [=]() -> std::string {
        *smtp = std::make_unique<SmtpClient>(port);
        if (!(*smtp)->connected()) return "connect failed";
        if (const SmtpReply greeting = (*smtp)->Read(); greeting.code != 220) return "greeting: " + greeting.text;
        if (const SmtpReply ehlo = (*smtp)->Command("EHLO bench.example.com"); ehlo.code != 250)
            return "EHLO: " + ehlo.text;
        return "";
    };
    auto deliver = [=, &maker](Kind kind, long index, Record& record) -> std::string {
        if (!*smtp || !(*smtp)->connected()) {
            if (std::string error = connect(); !error.empty()) return error;
        }
        SmtpClient& client = **smtp;
        const std::string number = Number(kind, index);
        auto fail = [&](const char* step, const SmtpReply& reply) {
            record.code = reply.code;
            if (reply.code == 0) client.Close();
            return std::string(step) + ": " + (reply.code == 0 ? "connection lost" : reply.text);
        };
        if (SmtpReply r = client.Command("MAIL FROM:<" + std::string(kSender) + ">"); r.code != 250)
            return fail("MAIL", r);
        if (SmtpReply r = client.Command("RCPT TO:<" + number + "@" + kFaxDomain + ">"); r.code != 250) {
            client.Command("RSET");
            return fail("RCPT", r);
        }
        if (SmtpReply r = client.Command("DATA"); r.code != 354) return fail("DATA", r);
        if (!client.Send(maker.Make(kind, index))) return fail("message", {});
        record.start_ns = NowNs();
        if (!client.Send(".\r\n")) return fail("end of data", {});
        const SmtpReply reply = client.Read();
        record.reply_ns = NowNs();
        record.code = reply.code;
        if (reply.code != 250) return fail("end of data", reply);
        const auto at = reply.text.find("queued as ");
        if (at != std::string::npos) record.queue_id = reply.text.substr(at + 10);
        return "";
    };
    ClientWork work;
    work.prepare = [=, &warm_up_index]() -> std::string {
        if (std::string error = connect(); !error.empty()) return error;
        Record ignored;
        return deliver(kMailWarmUp, warm_up_index.fetch_add(1), ignored);
    };
    work.item = [=](long index, Record& record) { return deliver(kMail, index, record); };
    return work;
}

// One REST client: POST /api/v1/faxes, multipart, on a keep-alive connection.
ClientWork RestWork(int port, const std::string& authorization, const std::string& pdf,
                    std::atomic<int>& warm_up_index) {
    auto http = std::make_shared<HttpClient>(port);
    auto submit = [=](Kind kind, long index, Record& record) -> std::string {
        const std::string boundary = "benchmail5e2d90a1";
        const std::string form = "--" + boundary +
                                 "\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n" + Number(kind, index) +
                                 "\r\n--" + boundary +
                                 "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"page.pdf\"\r\n"
                                 "Content-Type: application/pdf\r\n\r\n" +
                                 pdf + "\r\n--" + boundary + "--\r\n";
        record.start_ns = NowNs();
        const HttpReply reply = http->Send("POST", "/api/v1/faxes", authorization,
                                           "multipart/form-data; boundary=" + boundary, form);
        record.reply_ns = NowNs();
        record.code = reply.status;
        if (reply.status == 201) return "";
        return "POST /api/v1/faxes: " +
               (reply.status == 0 ? reply.error : std::to_string(reply.status) + " " + reply.body.substr(0, 200));
    };
    ClientWork work;
    work.prepare = [=, &warm_up_index]() {
        Record ignored;
        return submit(kRestWarmUp, warm_up_index.fetch_add(1), ignored);
    };
    work.item = [=](long index, Record& record) { return submit(kRest, index, record); };
    return work;
}

// An API token of the user "mailbench" (the REST phase submits as the same user the mails come from).
std::string SenderToken(int port, const std::string& admin) {
    HttpClient client(port);
    const HttpReply users = client.Send("GET", "/api/v1/users", admin);
    if (users.status != 200) Die("GET /api/v1/users: " + std::to_string(users.status) + " " + users.body);
    std::int64_t id = 0;
    const nlohmann::json list = nlohmann::json::parse(users.body);
    for (const nlohmann::json& entry : list.at("users"))
        if (entry.at("login") == "mailbench") id = entry.at("id").get<std::int64_t>();
    if (id == 0) Die("faxd has no user mailbench");
    const std::string target = "/api/v1/users/" + std::to_string(id) + "/tokens";
    const HttpReply token = client.Send("POST", target, admin, "application/json", R"({"name": "bench_mail"})");
    if (token.status != 201) Die("POST " + target + ": " + std::to_string(token.status) + " " + token.body);
    return "Bearer " + nlohmann::json::parse(token.body).at("token").get<std::string>();
}

// ---------------------------------------------------------------- faxd's log

// "2025-01-02T10:11:12.345 info  [mail] mail <id> (smtp) from ...: 1 document(s) to 1 recipient(s): <ref>":
// queue id -> wall-clock ns of the line (millisecond resolution, local time).
std::unordered_map<std::string, std::int64_t> IntakeLogLines(const std::filesystem::path& log) {
    std::unordered_map<std::string, std::int64_t> out;
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        const auto at = line.find("[mail] mail ");
        if (at == std::string::npos || line.find(" document(s) to ") == std::string::npos) continue;
        const auto id_begin = at + 12;
        const auto id_end = line.find(' ', id_begin);
        std::tm tm{};
        int milliseconds = 0;
        if (std::sscanf(line.c_str(), "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &tm.tm_sec, &milliseconds) != 7)
            continue;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        tm.tm_isdst = -1;
        const std::time_t seconds = std::mktime(&tm);
        out[line.substr(id_begin, id_end - id_begin)] =
            static_cast<std::int64_t>(seconds) * 1'000'000'000 + std::int64_t{milliseconds} * 1'000'000;
    }
    return out;
}

// ---------------------------------------------------------------- report

struct Latency {
    double p50 = 0, p95 = 0, p99 = 0, max = 0;
    long n = 0;
};
Latency Summarize(const std::vector<double>& values) {
    Latency l;
    l.n = static_cast<long>(values.size());
    l.p50 = Percentile(values, 0.50);
    l.p95 = Percentile(values, 0.95);
    l.p99 = Percentile(values, 0.99);
    l.max = values.empty() ? 0 : *std::max_element(values.begin(), values.end());
    return l;
}

void PrintLatency(const char* what, const Latency& l) {
    std::printf("  %-44s %6ld %9.1f %9.1f %9.1f %9.1f\n", what, l.n, l.p50, l.p95, l.p99, l.max);
}

struct PhaseFigures {
    double accepted_per_s = 0, queued_per_s = 0, wall_s = 0;
    Latency reply, queued;
};

PhaseFigures Figures(const PhaseResult& phase, const std::vector<Seen>& seen) {
    PhaseFigures f;
    std::vector<double> reply, queued;
    std::int64_t last_reply = phase.start_ns, last_seen = phase.start_ns;
    long seen_count = 0;
    for (std::size_t i = 0; i < phase.records.size(); ++i) {
        const Record& r = phase.records[i];
        if (r.code != 250 && r.code != 201) continue;
        reply.push_back(Ms(r.reply_ns - r.start_ns));
        last_reply = std::max(last_reply, r.reply_ns);
        if (seen[i].seen_ns == 0) continue;
        queued.push_back(Ms(seen[i].seen_ns - r.start_ns));
        last_seen = std::max(last_seen, seen[i].seen_ns);
        ++seen_count;
    }
    f.reply = Summarize(reply);
    f.queued = Summarize(queued);
    f.wall_s = Ms(last_seen - phase.start_ns) / 1000;
    const double reply_s = Ms(last_reply - phase.start_ns) / 1000;
    f.accepted_per_s = reply_s > 0 ? static_cast<double>(phase.ok) / reply_s : 0;
    f.queued_per_s = f.wall_s > 0 ? static_cast<double>(seen_count) / f.wall_s : 0;
    return f;
}

void PrintThreads(const PhaseResult& phase, const std::map<int, std::string>& roles) {
    const double wall = Ms(phase.faxd_after.at_ns - phase.faxd_before.at_ns) / 1000;
    std::printf("\nfaxd over the mail phase (%.1f s, start to all queued): CPU %.1f s (of its threads), "
                "Ghostscript children %.1f s, bench_mail itself %.1f s\n",
                wall, phase.faxd_after.self_cpu_seconds - phase.faxd_before.self_cpu_seconds,
                phase.faxd_after.children_cpu_seconds - phase.faxd_before.children_cpu_seconds, phase.bench_cpu);
    std::printf("  busiest faxd threads (schedstat; run = on a CPU, wait = runnable but no CPU free, off = "
                "blocked or idle):\n");
    int shown = 0;
    for (const ThreadUse& use : ThreadsBetween(phase.faxd_before, phase.faxd_after)) {
        if (shown++ == 8 || use.run_s < 0.01) break;
        const auto role = roles.find(use.tid);
        std::printf("    tid %-7d %-19s run %6.2f s (%3.0f%%)  wait %6.2f s (%3.0f%%)  off %6.2f s\n", use.tid,
                    role == roles.end() ? "" : role->second.c_str(), use.run_s, 100 * use.run_s / wall, use.wait_s,
                    100 * use.wait_s / wall, use.off_s);
    }
}

// Where a mail's time goes, from the clocks of both processes (see the top of this file).
void PrintStages(const PhaseResult& mail, const std::vector<Seen>& seen,
                 const std::unordered_map<std::string, std::int64_t>& logged) {
    std::vector<double> to_put, put_to_250, to_created, created_to_log, log_to_seen, to_log, to_created_all;
    std::vector<std::int64_t> created_times;
    std::vector<std::pair<std::int64_t, int>> events;  // +1 at 250, -1 at created: the intake's backlog
    long missing_log = 0;
    for (std::size_t i = 0; i < mail.records.size(); ++i) {
        const Record& r = mail.records[i];
        const Seen& s = seen[i];
        if (r.code != 250 || s.seen_ns == 0) continue;
        const std::int64_t put_ns = std::atoll(r.queue_id.substr(0, 20).c_str());
        if (put_ns > 0) {
            to_put.push_back(Ms(put_ns - r.start_ns));
            put_to_250.push_back(Ms(r.reply_ns - put_ns));
        }
        to_created.push_back(Ms(s.created_ns - r.reply_ns));
        to_created_all.push_back(Ms(s.created_ns - r.start_ns));
        created_times.push_back(s.created_ns);
        events.emplace_back(r.reply_ns, +1);
        events.emplace_back(s.created_ns, -1);
        if (auto it = logged.find(r.queue_id); it != logged.end()) {
            created_to_log.push_back(Ms(it->second - s.created_ns));
            log_to_seen.push_back(Ms(s.seen_ns - it->second));
            to_log.push_back(Ms(it->second - r.start_ns));
        } else {
            ++missing_log;
        }
    }
    std::printf("\nwhere a mail's time goes (ms; the log has millisecond timestamps, so its stages are +-1 ms):\n");
    std::printf("  %-44s %6s %9s %9s %9s %9s\n", "stage", "n", "p50", "p95", "p99", "max");
    PrintLatency("DATA end -> faxd starts writing the drop file", Summarize(to_put));
    PrintLatency("drop write (fsync, rename, dir fsync) -> 250", Summarize(put_to_250));
    PrintLatency("250 -> job created (intake wait, parse, spool)", Summarize(to_created));
    PrintLatency("job created -> intake log line (commit)", Summarize(created_to_log));
    PrintLatency("intake log line -> watcher saw it", Summarize(log_to_seen));
    PrintLatency("DATA end -> job created (no polling)", Summarize(to_created_all));
    PrintLatency("DATA end -> intake log line (no polling)", Summarize(to_log));
    if (missing_log > 0) std::printf("  (%ld mails had no intake log line)\n", missing_log);

    std::sort(created_times.begin(), created_times.end());
    std::vector<double> gaps;
    for (std::size_t i = 1; i < created_times.size(); ++i) gaps.push_back(Ms(created_times[i] - created_times[i - 1]));
    std::sort(events.begin(), events.end());
    long backlog = 0, max_backlog = 0;
    for (const auto& [at, delta] : events) max_backlog = std::max(max_backlog, backlog += delta);
    long at_clients_done = 0;
    for (const auto& [at, delta] : events)
        if (at <= mail.clients_done_ns) at_clients_done += delta;
    if (!gaps.empty()) {
        const Latency g = Summarize(gaps);
        // Busy: the gaps under a second (the intake was working, not waiting); its rate there is its capacity
        // whenever it had a backlog.
        double busy_ms = 0;
        long busy_jobs = 0, idle_gaps = 0;
        for (double gap : gaps) {
            if (gap < 1000) {
                busy_ms += gap;
                ++busy_jobs;
            } else {
                ++idle_gaps;
            }
        }
        std::printf("intake: median gap between consecutive jobs %.2f ms (%.0f mails/s), p99 gap %.1f ms, longest "
                    "%.1f ms; %ld gaps over 1 s; outside them %ld jobs in %.2f s (%.0f mails/s)\n",
                    g.p50, g.p50 > 0 ? 1000 / g.p50 : 0, g.p99, g.max, idle_gaps, busy_jobs, busy_ms / 1000,
                    busy_ms > 0 ? static_cast<double>(busy_jobs) / (busy_ms / 1000) : 0);
        std::printf("intake backlog (250 given, job not yet created): at most %ld, %ld when the clients finished\n",
                    max_backlog, at_clients_done);
    }
    // Per second of the phase (the first minute): 250s given and jobs queued, to see stalls.
    const int seconds = std::min(60, static_cast<int>(Ms(mail.drained_ns - mail.start_ns) / 1000) + 1);
    {
        std::vector<int> accepted(static_cast<std::size_t>(seconds)), queued(static_cast<std::size_t>(seconds));
        for (std::size_t i = 0; i < mail.records.size(); ++i) {
            const Record& r = mail.records[i];
            if (r.code != 250) continue;
            const auto a = static_cast<std::size_t>((r.reply_ns - mail.start_ns) / 1'000'000'000);
            if (a < accepted.size()) ++accepted[a];
            if (seen[i].seen_ns == 0) continue;
            const auto q = static_cast<std::size_t>((seen[i].seen_ns - mail.start_ns) / 1'000'000'000);
            if (q < queued.size()) ++queued[q];
        }
        std::printf("per second  250s:  ");
        for (int v : accepted) std::printf(" %4d", v);
        std::printf("\nper second  queued:");
        for (int v : queued) std::printf(" %4d", v);
        std::printf("\n");
    }
}

int Bench(const Options& options) {
    TempDir dir;
    if (options.keep) dir.Keep();
    const long rest_count = options.rest < 0 ? options.mails : options.rest;
    const std::string pdf = MakePdf(dir.path());
    const MailMaker maker(pdf);
    const std::size_t mail_bytes = maker.Make(kMail, 0).size() + 3;
    std::printf("bench_mail: faxd %s, work dir %s\n", options.faxd.c_str(), dir.path().c_str());
    std::printf("  %ld mails and %ld REST submissions, %d clients, %s; PDF %zu bytes (Ghostscript), mail %zu bytes; "
                "queued = seen in the store (read-only poll every %.1f ms)\n",
                options.mails, rest_count, options.clients,
                options.rate > 0 ? ("paced at " + std::to_string(static_cast<int>(options.rate)) + "/s").c_str()
                                 : "as fast as they go",
                pdf.size(), mail_bytes, static_cast<double>(options.poll_us) / 1000);
    FaxdSettings settings;
    settings.binary = options.faxd;
    settings.sender_email = kSender;
    settings.fax_domain = kFaxDomain;
    Faxd faxd(settings, dir.path());
    faxd.Start();
    const std::string admin = "Bearer " + faxd.AdminToken();
    const std::string user = SenderToken(faxd.http_port(), admin);

    Tracker tracker;
    StoreWatcher watcher(faxd.database(), std::chrono::microseconds(options.poll_us),
                         [&](const std::string& number, std::int64_t created, const std::string& reference,
                             std::int64_t seen) { tracker.OnSeen(number, created, reference, seen); });
    std::printf("phases:\n");
    std::fflush(stdout);
    std::atomic<int> mail_warm_up{0}, rest_warm_up{0};
    const PhaseResult mail = RunPhase("mail", kMail, kMailWarmUp, options.mails, options, faxd, tracker, [&] {
        return SmtpWork(faxd.smtp_port(), maker, mail_warm_up);
    });
    // After the mail phase's figures are taken, before the REST phase: gdb stops faxd for a moment.
    const std::map<int, std::string> roles = options.gdb ? ThreadRolesByGdb(faxd.pid()) : std::map<int, std::string>{};
    PhaseResult rest;
    if (rest_count > 0) {
        rest = RunPhase("REST", kRest, kRestWarmUp, rest_count, options, faxd, tracker, [&] {
            return RestWork(faxd.http_port(), user, pdf, rest_warm_up);
        });
    }
    watcher.Stop();
    const long rss_kb = faxd.PeakRssKb();
    faxd.Stop();  // flushes its log
    const auto logged = IntakeLogLines(faxd.log());

    const std::vector<Seen> mail_seen = tracker.Get(kMail);
    const PhaseFigures m = Figures(mail, mail_seen);
    std::printf("\nbench_mail: %ld mails, %d clients; latency in ms from the end of DATA (mail) or the start of "
                "the request (REST)\n",
                options.mails, options.clients);
    std::printf("  %-44s %6s %9s %9s %9s %9s\n", "", "n", "p50", "p95", "p99", "max");
    PrintLatency("mail: DATA end -> 250 (the SMTP listener)", m.reply);
    PrintLatency("mail: DATA end -> queued (seen in the store)", m.queued);
    PhaseFigures r;
    if (rest_count > 0) {
        r = Figures(rest, tracker.Get(kRest));
        PrintLatency("REST: request -> 201", r.reply);
        PrintLatency("REST: request -> queued (seen in the store)", r.queued);
    }
    std::printf("\n  %-6s %7s %7s %9s %12s %10s\n", "phase", "ok", "errors", "wall s", "accepted/s", "queued/s");
    std::printf("  %-6s %7ld %7ld %9.2f %12.1f %10.1f\n", "mail", mail.ok, mail.errors, m.wall_s, m.accepted_per_s,
                m.queued_per_s);
    if (rest_count > 0)
        std::printf("  %-6s %7ld %7ld %9.2f %12.1f %10.1f\n", "REST", rest.ok, rest.errors, r.wall_s,
                    r.accepted_per_s, r.queued_per_s);
    std::printf("  (accepted/s: 250s or 201s up to the last of them; queued/s: jobs up to the last one seen)\n");

    std::printf("\nratios:\n");
    std::printf("  mail queued / 250:        p50 x%.1f, p99 x%.1f  (what the intake adds to the listener)\n",
                m.queued.p50 / m.reply.p50, m.queued.p99 / m.reply.p99);
    if (rest_count > 0) {
        std::printf("  mail / REST, queued/s:    x%.2f\n", m.queued_per_s / r.queued_per_s);
        std::printf("  mail / REST, to queued:   p50 x%.2f, p99 x%.2f  (mail DATA end -> queued vs REST "
                    "request -> queued)\n",
                    m.queued.p50 / r.queued.p50, m.queued.p99 / r.queued.p99);
        std::printf("  mail 250 / REST 201:      p50 x%.2f, p99 x%.2f\n", m.reply.p50 / r.reply.p50,
                    m.reply.p99 / r.reply.p99);
    }
    // Paced, queued/s cannot exceed --rate: 1% slack for the phase's ends; paced below 200/s it says nothing.
    const char* throughput = options.rate > 0 && options.rate < 200 ? "not tested (paced below 200/s)"
                             : m.queued_per_s >= (options.rate > 0 ? 198 : 200) ? "met"
                                                                                  : "MISSED";
    std::printf("aim: >= 200 mails/s queued: %s (%.1f); p99 DATA end -> queued <= 200 ms: %s (%.1f ms)\n",
                throughput, m.queued_per_s, m.queued.p99 <= 200 ? "met" : "MISSED", m.queued.p99);
    if (options.rate <= 0)
        std::printf("  (closed loop: the clients offered %.0f mails/s; beyond what the intake takes, the backlog's "
                    "wait is in DATA end -> queued; --rate R offers a fixed load)\n",
                    m.accepted_per_s);

    const StoreWatcher::Cost cost = watcher.cost();
    std::printf("\nwatcher: %ld polls in %.1f s, one every %.2f ms (so 'queued' is late by up to that), a poll "
                "takes %.3f ms on average (max %.1f ms), %.2f s CPU (%.1f%% of a core)\n",
                cost.polls, cost.seconds, cost.period_mean_ms, cost.poll_mean_ms, cost.poll_max_ms,
                cost.cpu_seconds, cost.seconds > 0 ? 100 * cost.cpu_seconds / cost.seconds : 0);
    PrintStages(mail, mail_seen, logged);
    PrintThreads(mail, roles);
    if (rest_count > 0) {
        const double wall = Ms(rest.faxd_after.at_ns - rest.faxd_before.at_ns) / 1000;
        std::printf("faxd over the REST phase (%.1f s): CPU %.1f s, Ghostscript children %.1f s, bench_mail %.1f s\n",
                    wall, rest.faxd_after.self_cpu_seconds - rest.faxd_before.self_cpu_seconds,
                    rest.faxd_after.children_cpu_seconds - rest.faxd_before.children_cpu_seconds, rest.bench_cpu);
    }
    std::printf("faxd peak RSS %ld MiB\n", rss_kb / 1024);
    if (!mail.first_error.empty()) std::printf("first mail error: %s\n", mail.first_error.c_str());
    if (!rest.first_error.empty()) std::printf("first REST error: %s\n", rest.first_error.c_str());
    return mail.errors + rest.errors == 0 && mail.drained && (rest_count == 0 || rest.drained) ? 0 : 1;
}

Options Parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) Die(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--mails") {
            options.mails = std::stol(value());
        } else if (arg == "--clients") {
            options.clients = std::stoi(value());
        } else if (arg == "--rest") {
            options.rest = std::stol(value());
        } else if (arg == "--rate") {
            options.rate = std::stod(value());
        } else if (arg == "--poll-us") {
            options.poll_us = std::stol(value());
        } else if (arg == "--settle-timeout") {
            options.settle_timeout = std::stod(value());
        } else if (arg == "--faxd") {
            options.faxd = value();
        } else if (arg == "--keep") {
            options.keep = true;
        } else if (arg == "--no-gdb") {
            options.gdb = false;
        } else if (arg == "--help" || arg == "-h") {
            std::printf("usage: bench_mail [--mails 2000] [--clients 8] [--rest N] [--rate R] [--poll-us 2000]\n"
                        "                  [--settle-timeout 600] [--faxd PATH] [--keep] [--no-gdb]\n");
            std::exit(0);
        } else {
            Die("unknown option " + arg + " (--help)");
        }
    }
    if (options.mails < 1 || options.mails > 999'999) Die("--mails: 1 to 999999");
    if (options.rest > 999'999) Die("--rest: at most 999999");
    if (options.clients < 1 || options.clients > 90) Die("--clients: 1 to 90 (faxd takes 100 connections)");
    if (options.poll_us < 100) Die("--poll-us: at least 100");
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    try {
        return Bench(Parse(argc, argv));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "bench_mail: %s\n", error.what());
        return 1;
    }
}
