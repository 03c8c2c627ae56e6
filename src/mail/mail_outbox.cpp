#include "mail/mail_outbox.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/atomic_file.hpp"
#include "mail/smtp_dialogue.hpp"

namespace faxd::mail {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr int kStateVersion = 1;

std::int64_t UnixMs(base::WallTime time) {
    return duration_cast<milliseconds>(time.time_since_epoch()).count();
}

base::WallTime FromUnixMs(std::int64_t ms) {
    return base::WallTime(duration_cast<base::Duration>(milliseconds(ms)));
}

// Relay answers are not guaranteed UTF-8; JSON must be.
std::string Dump(const json& value) {
    return value.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

// An envelope address as libcurl puts it between <>: no blanks, controls, brackets or commas.
bool ValidEnvelopeAddress(const std::string& address) {
    if (address.empty() || address.size() > 320) return false;
    return std::none_of(address.begin(), address.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7f || c == '<' || c == '>' || c == ',';
    });
}

// SMTP DATA lines end in CRLF (RFC 5321 §2.3.8): bare LF and bare CR become CRLF, and the message ends
// with one.
std::string CrlfLineEnds(const std::string& message) {
    std::string out;
    out.reserve(message.size() + message.size() / 32 + 2);
    for (std::size_t i = 0; i < message.size(); ++i) {
        const char c = message[i];
        if (c == '\r') {
            out += "\r\n";
            if (i + 1 < message.size() && message[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    if (!out.ends_with("\r\n")) out += "\r\n";
    return out;
}

std::string FormatDuration(milliseconds span) {
    const auto hours = duration_cast<std::chrono::hours>(span).count();
    if (hours >= 1) return std::to_string(hours) + " h";
    const auto seconds = duration_cast<std::chrono::seconds>(span).count();
    if (seconds >= 1) return std::to_string(seconds) + " s";
    return std::to_string(span.count()) + " ms";
}

bool IsLoopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.starts_with("127.");
}

std::string HeloName(const std::string& configured) {
    std::string name = configured;
    if (name.empty()) {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) == 0) name = host;
    }
    const bool usable = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-';
    });
    return usable ? name : "localhost";
}

}  // namespace

namespace detail {

// libcurl opens and closes every relay socket through these, so Stop() can shut them down from another
// thread: a relay that never answers, or libcurl waiting (blocking, in its connection teardown) for the
// reply to QUIT, would otherwise hold Stop() for up to the timeout. Closing under the lock means a shut-down
// descriptor is never one the process has reused for something else.
struct SocketSet {
    std::mutex mutex;
    std::set<int> open;
    bool stopping = false;
};
}  // namespace detail

namespace {

using Outcome = detail::SendOutcome;

curl_socket_t OpenSocket(void* set, curlsocktype, curl_sockaddr* address) {
    auto* sockets = static_cast<detail::SocketSet*>(set);
    std::lock_guard lock(sockets->mutex);
    if (sockets->stopping) return CURL_SOCKET_BAD;
    const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd >= 0) sockets->open.insert(fd);
    return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

int CloseSocket(void* set, curl_socket_t fd) {
    auto* sockets = static_cast<detail::SocketSet*>(set);
    std::lock_guard lock(sockets->mutex);
    sockets->open.erase(fd);
    return ::close(fd);
}

json StateJson(const std::string& id, const std::string& envelope_from,
               const std::vector<std::string>& recipients, const std::vector<std::string>& delivered,
               base::WallTime created, int attempts, base::WallTime next_attempt,
               const std::string& last_error) {
    return json{{"version", kStateVersion},       {"id", id},
                {"envelope_from", envelope_from}, {"recipients", recipients},
                {"delivered", delivered},         {"created_ms", UnixMs(created)},
                {"attempts", attempts},           {"next_attempt_ms", UnixMs(next_attempt)},
                {"last_error", last_error}};
}

size_t ReadMessage(char* buffer, size_t size, size_t count, void* file) {
    return std::fread(buffer, size, count, static_cast<std::FILE*>(file)) * size;
}

}  // namespace

// One message on its way: the libcurl handle and what it reads from.
struct MailOutbox::Attempt {
    std::string id;
    std::vector<std::string> recipients;
    CURL* easy = nullptr;
    curl_slist* rcpt = nullptr;
    std::FILE* file = nullptr;
    char error[CURL_ERROR_SIZE] = {};
    SmtpDialogue dialogue;
    std::string relay_name;  // "host:port" for messages

    ~Attempt() {
        curl_slist_free_all(rcpt);
        curl_easy_cleanup(easy);
        if (file != nullptr) std::fclose(file);
    }
};

// The libcurl multi handle and the attempts in flight; lives on the sender thread.
class MailOutbox::Transfers {
public:
    explicit Transfers(detail::SocketSet* sockets) : sockets_(sockets), multi_(curl_multi_init()) {}
    ~Transfers() {
        for (auto& [easy, attempt] : active_) curl_multi_remove_handle(multi_, easy);
        active_.clear();
        curl_multi_cleanup(multi_);
    }
    Transfers(const Transfers&) = delete;
    Transfers& operator=(const Transfers&) = delete;

    CURLM* multi() const { return multi_; }
    std::size_t Active() const { return active_.size(); }

    base::Result<void> Begin(std::unique_ptr<Attempt> attempt, const std::filesystem::path& message,
                             const std::string& envelope_from, const SmtpRelay& relay) {
        attempt->file = std::fopen(message.c_str(), "rbe");
        if (attempt->file == nullptr) return base::ErrnoError("cannot open " + message.string(), errno);
        struct stat info {};
        if (::fstat(::fileno(attempt->file), &info) != 0)
            return base::ErrnoError("cannot stat " + message.string(), errno);
        attempt->easy = curl_easy_init();
        if (attempt->easy == nullptr)
            return base::MakeError(base::ErrorCode::kInternal, "curl_easy_init failed");
        for (const auto& recipient : attempt->recipients) {
            curl_slist* grown = curl_slist_append(attempt->rcpt, recipient.c_str());
            if (grown == nullptr) return base::MakeError(base::ErrorCode::kInternal, "out of memory");
            attempt->rcpt = grown;
        }
        const std::string host =
            relay.host.find(':') != std::string::npos ? "[" + relay.host + "]" : relay.host;
        attempt->relay_name = host + ":" + std::to_string(relay.port);
        // RFC 5321 §4.1.1.1: the URL's path is the EHLO argument.
        const std::string url = std::string(relay.tls == SmtpRelay::Tls::kImplicit ? "smtps://" : "smtp://") +
                                attempt->relay_name + "/" + HeloName(relay.helo_name);
        const long timeout_s = static_cast<long>(std::max<std::int64_t>(1, relay.timeout.count()));
        CURL* easy = attempt->easy;
        curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(easy, CURLOPT_MAIL_FROM, envelope_from.c_str());  // "" is MAIL FROM:<>
        curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, attempt->rcpt);
        curl_easy_setopt(easy, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
        curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(easy, CURLOPT_READFUNCTION, ReadMessage);
        curl_easy_setopt(easy, CURLOPT_READDATA, attempt->file);
        curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(info.st_size));
        curl_easy_setopt(easy, CURLOPT_USE_SSL,
                         relay.tls == SmtpRelay::Tls::kStartTls ? static_cast<long>(CURLUSESSL_ALL)
                                                                : static_cast<long>(CURLUSESSL_NONE));
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, relay.verify_certificate ? 1L : 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, relay.verify_certificate ? 2L : 0L);
        if (!relay.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, relay.ca_file.c_str());
        if (!relay.user.empty()) {
            curl_easy_setopt(easy, CURLOPT_USERNAME, relay.user.c_str());
            curl_easy_setopt(easy, CURLOPT_PASSWORD, relay.password.c_str());
        }
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, timeout_s);
        curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout_s);
        curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, timeout_s);
        curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, attempt->error);
        // The debug callback sees the dialogue only with VERBOSE on; it replaces libcurl's stderr output.
        curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, SmtpDebugCallback);
        curl_easy_setopt(easy, CURLOPT_DEBUGDATA, &attempt->dialogue);
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, sockets_);
        curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, CloseSocket);
        curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, sockets_);
        if (curl_multi_add_handle(multi_, easy) != CURLM_OK)
            return base::MakeError(base::ErrorCode::kInternal, "cannot start a transfer");
        active_.emplace(easy, std::move(attempt));
        return {};
    }

    // Moves the transfers on; returns the finished ones with their libcurl result.
    std::vector<std::pair<std::unique_ptr<Attempt>, CURLcode>> Perform() {
        std::vector<std::pair<std::unique_ptr<Attempt>, CURLcode>> finished;
        int running = 0;
        curl_multi_perform(multi_, &running);
        int queued = 0;
        while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL* easy = message->easy_handle;
            const CURLcode result = message->data.result;
            curl_multi_remove_handle(multi_, easy);
            auto found = active_.find(easy);
            if (found == active_.end()) continue;
            finished.emplace_back(std::move(found->second), result);
            active_.erase(found);
        }
        return finished;
    }

private:
    detail::SocketSet* sockets_;
    CURLM* multi_;
    std::map<CURL*, std::unique_ptr<Attempt>> active_;
};

namespace {

base::Result<std::string> ReadWholeFile(const fs::path& path) {
    std::FILE* file = std::fopen(path.c_str(), "rbe");
    if (file == nullptr) return base::ErrnoError("cannot open " + path.string(), errno);
    std::string text;
    char buffer[8192];
    for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, got);
    const bool failed = std::ferror(file) != 0;
    std::fclose(file);
    if (failed) return base::MakeError(base::ErrorCode::kIo, "cannot read " + path.string());
    return text;
}

base::Result<void> Unlink(const fs::path& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return base::ErrnoError("cannot remove " + path.string(), errno);
    return {};
}

std::vector<std::string> StringList(const json& value) {
    std::vector<std::string> out;
    for (const auto& item : value) out.push_back(item.get<std::string>());
    return out;
}

std::string JoinReasons(const std::vector<std::pair<std::string, std::string>>& refused) {
    std::string out;
    for (const auto& [recipient, reason] : refused) {
        if (!out.empty()) out += "; ";
        out += reason.find(recipient) != std::string::npos ? reason : recipient + ": " + reason;
    }
    return out;
}

}  // namespace

MailOutbox::MailOutbox(OutboxConfig config, OutboxEvents events, const base::Clock* clock)
    : config_(std::move(config)),
      events_(std::move(events)),
      clock_(clock != nullptr ? *clock : own_clock_),
      log_(base::GetLogger("mail-out")),
      relay_(config_.relay),
      sockets_(std::make_unique<detail::SocketSet>()) {
    // Thread-safe since libcurl 7.84; reference counted, paired with the cleanup in the destructor.
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

MailOutbox::~MailOutbox() {
    Stop();
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
    curl_global_cleanup();
}

base::Result<std::unique_ptr<MailOutbox>> MailOutbox::Open(OutboxConfig config, OutboxEvents events) {
    std::unique_ptr<MailOutbox> outbox(new MailOutbox(std::move(config), std::move(events), nullptr));
    if (auto recovered = outbox->Recover(); !recovered) return tl::unexpected(recovered.error());
    return outbox;
}

base::Result<std::unique_ptr<MailOutbox>> MailOutbox::Open(OutboxConfig config, OutboxEvents events,
                                                           const base::Clock& clock) {
    std::unique_ptr<MailOutbox> outbox(new MailOutbox(std::move(config), std::move(events), &clock));
    if (auto recovered = outbox->Recover(); !recovered) return tl::unexpected(recovered.error());
    return outbox;
}

fs::path MailOutbox::QueuePath(const std::string& id, const char* extension) const {
    return config_.directory / "queue" / (id + extension);
}

fs::path MailOutbox::FailedPath(const std::string& id, const char* extension) const {
    return config_.directory / "failed" / (id + extension);
}

milliseconds MailOutbox::Backoff(int failures) const {
    const auto index = static_cast<std::size_t>(std::max(failures, 1) - 1);
    return config_.backoff[std::min(index, config_.backoff.size() - 1)];
}

base::Result<void> MailOutbox::Recover() {
    using base::ErrorCode;
    if (config_.directory.empty())
        return base::MakeError(ErrorCode::kInvalidArgument, "outbox: no directory");
    if (config_.backoff.empty() || std::any_of(config_.backoff.begin(), config_.backoff.end(),
                                               [](milliseconds b) { return b.count() <= 0; }))
        return base::MakeError(ErrorCode::kInvalidArgument, "outbox: backoff must be positive waits");
    if (config_.max_parallel == 0)
        return base::MakeError(ErrorCode::kInvalidArgument, "outbox: max_parallel must be at least 1");
    if (config_.relay.host.empty() || config_.relay.port == 0)
        return base::MakeError(ErrorCode::kInvalidArgument, "outbox: relay host and port needed");
    if (!config_.relay.user.empty() && config_.relay.tls == SmtpRelay::Tls::kNone &&
        !IsLoopback(config_.relay.host))
        log_->warn("relay {}: AUTH without TLS sends the password in the clear", config_.relay.host);

    const fs::path queue_dir = config_.directory / "queue";
    const fs::path failed_dir = config_.directory / "failed";
    std::error_code error;
    fs::create_directories(queue_dir, error);
    if (!error) fs::create_directories(failed_dir, error);
    if (error)
        return base::MakeError(ErrorCode::kIo,
                               "cannot create " + queue_dir.string() + ": " + error.message());

    const fs::path lock_path = config_.directory / "lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return base::ErrnoError("cannot open " + lock_path.string(), errno);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return base::MakeError(ErrorCode::kIo,
                                   "outbox " + config_.directory.string() + " is in use by another process");
        return base::ErrnoError("cannot lock " + lock_path.string(), errno);
    }

    // Leftovers of atomic writes (".<name>.tmpXXXXXX") and lone halves of a message go.
    auto scan = [](const fs::path& dir, std::set<std::string>& emls, std::set<std::string>& jsons,
                   std::vector<fs::path>& temps) -> base::Result<void> {
        std::error_code scan_error;
        for (fs::directory_iterator it(dir, scan_error), end; !scan_error && it != end;
             it.increment(scan_error)) {
            const std::string name = it->path().filename().string();
            if (name.starts_with(".")) {
                temps.push_back(it->path());
            } else if (name.ends_with(".eml")) {
                emls.insert(name.substr(0, name.size() - 4));
            } else if (name.ends_with(".json")) {
                jsons.insert(name.substr(0, name.size() - 5));
            }
        }
        if (scan_error)
            return base::MakeError(base::ErrorCode::kIo,
                                   "cannot read " + dir.string() + ": " + scan_error.message());
        return {};
    };
    std::set<std::string> emls, jsons, failed_emls, failed_jsons;
    std::vector<fs::path> temps;
    if (auto scanned = scan(queue_dir, emls, jsons, temps); !scanned) return scanned;
    if (auto scanned = scan(failed_dir, failed_emls, failed_jsons, temps); !scanned) return scanned;
    std::vector<fs::path> removals = temps;
    for (const auto& id : emls)
        if (!jsons.contains(id)) removals.push_back(QueuePath(id, ".eml"));
    for (const auto& id : failed_jsons)
        if (!failed_emls.contains(id)) removals.push_back(FailedPath(id, ".json"));

    std::size_t quarantined = 0;
    for (const auto& id : jsons) {
        if (!emls.contains(id)) {
            removals.push_back(QueuePath(id, ".json"));
            continue;
        }
        std::string problem;
        Entry entry;
        entry.id = id;
        if (auto text = ReadWholeFile(QueuePath(id, ".json")); !text) {
            problem = text.error().ToString();
        } else {
            const json state = json::parse(*text, nullptr, false);
            try {
                entry.envelope_from = state.at("envelope_from").get<std::string>();
                entry.recipients = StringList(state.at("recipients"));
                entry.delivered = StringList(state.value("delivered", json::array()));
                entry.created = FromUnixMs(state.at("created_ms").get<std::int64_t>());
                entry.attempts = state.value("attempts", 0);
                entry.next_attempt = FromUnixMs(state.value("next_attempt_ms", std::int64_t{0}));
                entry.last_error = state.value("last_error", std::string());
                if (entry.recipients.empty()) problem = "no recipients left";
            } catch (const json::exception& bad) {
                problem = std::string("unreadable state: ") + bad.what();
            }
        }
        if (problem.empty()) {
            queue_.emplace(id, std::move(entry));
            continue;
        }
        // Kept, not lost: failed/ holds it with the reason.
        ++quarantined;
        log_->error("queued mail {}: {}; moved to failed/", id, problem);
        const json record{{"version", kStateVersion},
                          {"id", id},
                          {"reason", problem},
                          {"failed_ms", UnixMs(clock_.WallNow())}};
        auto written = base::WriteFileAtomically(FailedPath(id, ".json"), Dump(record));
        if (written && ::rename(QueuePath(id, ".eml").c_str(), FailedPath(id, ".eml").c_str()) != 0)
            written = base::ErrnoError("cannot move " + QueuePath(id, ".eml").string(), errno);
        if (!written) return tl::unexpected(written.error());
        if (auto synced = base::SyncPath(failed_dir); !synced) return synced;
        removals.push_back(QueuePath(id, ".json"));
    }
    for (const auto& path : removals) {
        if (auto removed = Unlink(path); !removed) return removed;
    }
    if (!removals.empty()) {
        if (auto synced = base::SyncPath(queue_dir); !synced) return synced;
        if (auto synced = base::SyncPath(failed_dir); !synced) return synced;
    }
    if (!queue_.empty() || quarantined > 0)
        log_->info("outbox {}: {} queued mail(s), {} unreadable moved to failed/", config_.directory.string(),
                   queue_.size(), quarantined);
    return {};
}

base::Result<std::string> MailOutbox::Enqueue(const std::string& envelope_from,
                                              const std::vector<std::string>& recipients,
                                              const std::string& message) {
    using base::ErrorCode;
    if (!envelope_from.empty() && !ValidEnvelopeAddress(envelope_from))
        return base::MakeError(ErrorCode::kInvalidArgument, "bad envelope sender");
    if (recipients.empty()) return base::MakeError(ErrorCode::kInvalidArgument, "no recipients");
    std::vector<std::string> unique;
    for (const auto& recipient : recipients) {
        if (!ValidEnvelopeAddress(recipient))
            return base::MakeError(ErrorCode::kInvalidArgument, "bad recipient address");
        if (std::find(unique.begin(), unique.end(), recipient) == unique.end()) unique.push_back(recipient);
    }
    if (message.empty()) return base::MakeError(ErrorCode::kInvalidArgument, "empty message");

    const base::WallTime now = clock_.WallNow();
    std::string id;
    {
        std::lock_guard lock(mutex_);
        std::random_device random;
        do {
            char text[48];
            std::snprintf(text, sizeof text, "%014lld-%08x", static_cast<long long>(UnixMs(now)),
                          static_cast<unsigned>(random()));
            id = text;
        } while (queue_.contains(id) || fs::exists(QueuePath(id, ".eml")));
    }
    if (auto written = base::WriteFileAtomically(QueuePath(id, ".eml"), CrlfLineEnds(message)); !written)
        return tl::unexpected(written.error());
    // The .json makes it queued (see the header), so it comes second.
    const json state = StateJson(id, envelope_from, unique, {}, now, 0, now, "");
    if (auto written = base::WriteFileAtomically(QueuePath(id, ".json"), Dump(state)); !written) {
        (void)Unlink(QueuePath(id, ".eml"));
        return tl::unexpected(written.error());
    }
    Entry entry;
    entry.id = id;
    entry.envelope_from = envelope_from;
    entry.recipients = std::move(unique);
    entry.created = now;
    entry.next_attempt = now;
    {
        std::lock_guard lock(mutex_);
        queue_.emplace(id, std::move(entry));
    }
    Poke();
    return id;
}

void MailOutbox::Start() {
    std::lock_guard lock(mutex_);
    if (worker_.joinable()) return;
    stopping_ = false;
    {
        std::lock_guard sockets_lock(sockets_->mutex);
        sockets_->stopping = false;
    }
    worker_ = std::thread([this] { Run(); });
}

void MailOutbox::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (wakeup_handle_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(wakeup_handle_));
    }
    {
        std::lock_guard lock(sockets_->mutex);
        sockets_->stopping = true;  // no new connections; the open ones fail at their next read or write
        for (const int fd : sockets_->open) ::shutdown(fd, SHUT_RDWR);
    }
    if (worker_.joinable()) worker_.join();
}

void MailOutbox::Poke() {
    std::lock_guard lock(mutex_);
    woken_ = true;
    if (wakeup_handle_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(wakeup_handle_));
}

void MailOutbox::Wake() {
    std::lock_guard lock(mutex_);
    woken_ = true;
    wake_all_ = true;
    if (wakeup_handle_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(wakeup_handle_));
}

void MailOutbox::SetRelay(SmtpRelay relay) {
    {
        std::lock_guard lock(mutex_);
        relay_ = std::move(relay);
    }
    Wake();
}

MailOutbox::Stats MailOutbox::stats() const {
    std::lock_guard lock(mutex_);
    Stats stats = counters_;
    stats.queued = queue_.size();
    for (const auto& [id, entry] : queue_) {
        if (!stats.oldest_queued || entry.created < *stats.oldest_queued) stats.oldest_queued = entry.created;
    }
    return stats;
}

void MailOutbox::Run() {
    Transfers transfers(sockets_.get());
    {
        std::lock_guard lock(mutex_);
        wakeup_handle_ = transfers.multi();
    }
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) break;
        }
        for (auto& [attempt, result] : transfers.Perform()) Finish(*attempt, static_cast<int>(result));
        StartDue(transfers);
        // Due times are on the injected clock, the wait in real time: it only bounds how late a due
        // message is noticed (at most a second), Wake() and Enqueue() cut it short.
        int wait_ms = 1000;
        {
            std::lock_guard lock(mutex_);
            const base::WallTime now = clock_.WallNow();
            std::optional<base::WallTime> next;
            const std::size_t slots = counters_.relay_down ? 1 : config_.max_parallel;
            const bool free_slot = transfers.Active() < slots;
            if (woken_) {
                next = now;
            } else if (free_slot && counters_.relay_down) {
                if (!queue_.empty()) next = relay_retry_at_;
            } else if (free_slot) {
                for (const auto& [id, entry] : queue_) {
                    if (!entry.in_flight && (!next || entry.next_attempt < *next)) next = entry.next_attempt;
                }
            }
            if (next) {
                const auto until = duration_cast<milliseconds>(*next - now).count();
                wait_ms = static_cast<int>(std::clamp<std::int64_t>(until, 0, 1000));
            }
        }
        curl_multi_poll(transfers.multi(), nullptr, 0, wait_ms, nullptr);
    }
    // Transfers cut off by Stop() are tried again after the next Start() (or Open()).
    std::lock_guard lock(mutex_);
    wakeup_handle_ = nullptr;
    for (auto& [id, entry] : queue_) entry.in_flight = false;
}

void MailOutbox::StartDue(Transfers& transfers) {
    struct Start {
        std::string id;
        std::string envelope_from;
        std::vector<std::string> recipients;
    };
    std::vector<Start> starts;
    SmtpRelay relay;
    {
        std::lock_guard lock(mutex_);
        const base::WallTime now = clock_.WallNow();
        woken_ = false;
        if (wake_all_) {
            wake_all_ = false;
            relay_retry_at_ = now;
            for (auto& [id, entry] : queue_) entry.next_attempt = std::min(entry.next_attempt, now);
        }
        relay = relay_;
        auto take = [&starts](Entry& entry) {
            entry.in_flight = true;
            starts.push_back({entry.id, entry.envelope_from, entry.recipients});
        };
        if (counters_.relay_down) {
            // Probing: one message, the oldest, at the outage's pace.
            if (transfers.Active() == 0 && now >= relay_retry_at_) {
                for (auto& [id, entry] : queue_) {
                    if (entry.in_flight) continue;
                    take(entry);
                    break;
                }
            }
        } else {
            std::size_t free = config_.max_parallel - std::min(config_.max_parallel, transfers.Active());
            for (auto& [id, entry] : queue_) {
                if (free == 0) break;
                if (entry.in_flight || entry.next_attempt > now) continue;
                take(entry);
                --free;
            }
        }
    }
    for (auto& start : starts) {
        auto attempt = std::make_unique<Attempt>();
        attempt->id = start.id;
        attempt->recipients = start.recipients;
        auto begun =
            transfers.Begin(std::move(attempt), QueuePath(start.id, ".eml"), start.envelope_from, relay);
        if (begun) continue;
        // Not sent at all: a local problem (the file, memory), never the relay's.
        log_->error("mail {}: cannot start sending: {}", start.id, begun.error().ToString());
        detail::SendOutcome outcome;
        outcome.error = begun.error().ToString();
        if (fs::exists(QueuePath(start.id, ".eml"))) {
            outcome.retry = start.recipients;
        } else {
            for (const auto& recipient : start.recipients)
                outcome.refused.emplace_back(recipient, "message file missing");
        }
        Settle(start.id, outcome);
    }
}

void MailOutbox::Finish(Attempt& attempt, int curl_code) {
    const auto code = static_cast<CURLcode>(curl_code);
    const std::string transport_error =
        attempt.relay_name + ": " +
        (attempt.error[0] != '\0' ? std::string(attempt.error) : curl_easy_strerror(code));
    Settle(attempt.id, Classify(attempt.dialogue, code == CURLE_OK, transport_error, attempt.recipients));
}

void MailOutbox::Settle(const std::string& id, const detail::SendOutcome& outcome) {
    const base::WallTime now = clock_.WallNow();
    Entry entry;
    {
        std::lock_guard lock(mutex_);
        auto found = queue_.find(id);
        if (found == queue_.end()) return;
        entry = found->second;
    }
    entry.in_flight = false;
    entry.attempts += 1;
    entry.delivered.insert(entry.delivered.end(), outcome.delivered.begin(), outcome.delivered.end());
    entry.recipients = outcome.retry;
    auto refused = outcome.refused;
    const auto age = duration_cast<milliseconds>(now - entry.created);
    if (!entry.recipients.empty() && age >= config_.give_up_after) {
        for (const auto& recipient : entry.recipients)
            refused.emplace_back(recipient, "given up after " + FormatDuration(age) + ": " + outcome.error);
        entry.recipients.clear();
    }
    bool queued = !entry.recipients.empty();
    std::string given_up;
    if (!refused.empty()) {
        if (auto recorded = RecordFailure(entry, refused, !queued, now); recorded) {
            given_up = JoinReasons(refused);
            log_->warn("mail {}: gave up {} recipient(s): {}", id, refused.size(), given_up);
        } else {
            // Without the record in failed/ nothing is given up: those recipients are tried again.
            log_->error("mail {}: cannot record the refusals ({}); trying again later", id,
                        recorded.error().ToString());
            for (const auto& [recipient, reason] : refused) entry.recipients.push_back(recipient);
            refused.clear();
            queued = true;
        }
    }
    if (queued) {
        entry.next_attempt = now + Backoff(entry.attempts);
        entry.last_error = outcome.error;
        const json state = StateJson(id, entry.envelope_from, entry.recipients, entry.delivered,
                                     entry.created, entry.attempts, entry.next_attempt, entry.last_error);
        if (auto written = base::WriteFileAtomically(QueuePath(id, ".json"), Dump(state)); !written)
            log_->error("mail {}: cannot store its retry state: {}", id, written.error().ToString());
        log_->warn("mail {}: attempt {} failed: {}; next in {}", id, entry.attempts, outcome.error,
                   FormatDuration(Backoff(entry.attempts)));
    } else if (refused.empty()) {
        if (auto removed = RemoveQueued(id); !removed)
            log_->error("mail {}: sent, but cannot remove it from the queue: {}", id,
                        removed.error().ToString());
    }
    if (!outcome.delivered.empty())
        log_->info("mail {}: relay took it for {} recipient(s)", id, outcome.delivered.size());

    std::vector<std::function<void()>> calls;
    bool sweep = false;
    {
        std::lock_guard lock(mutex_);
        if (queued) {
            queue_[id] = entry;
        } else {
            queue_.erase(id);
        }
        if (!outcome.error.empty()) counters_.last_error = outcome.error;
        if (!refused.empty()) {
            ++counters_.failed;
            if (events_.given_up)
                calls.emplace_back([this, id, given_up] { events_.given_up(id, given_up); });
        }
        if (outcome.relay_problem) {
            ++relay_failures_;
            relay_retry_at_ = now + Backoff(relay_failures_);
            sweep = true;
            if (!counters_.relay_down) {
                counters_.relay_down = true;
                log_->error("relay unreachable: {}", outcome.error);
                if (events_.relay_unreachable) {
                    calls.emplace_back([this, error = outcome.error] { events_.relay_unreachable(error); });
                }
            }
        } else if (outcome.relay_reached) {
            relay_failures_ = 0;
            if (counters_.relay_down) {
                counters_.relay_down = false;
                log_->info("relay reachable again");
                if (events_.relay_back) calls.emplace_back([this] { events_.relay_back(); });
            }
        }
        if (!queued && !entry.delivered.empty()) {
            ++counters_.sent;
            if (events_.sent) calls.emplace_back([this, id] { events_.sent(id); });
        }
    }
    for (const auto& call : calls) call();
    if (sweep) GiveUpOld(now, outcome.error);
}

void MailOutbox::GiveUpOld(base::WallTime now, const std::string& error) {
    std::vector<Entry> old;
    {
        std::lock_guard lock(mutex_);
        if (!counters_.relay_down) return;
        for (auto& [id, entry] : queue_) {
            if (entry.in_flight || now - entry.created < config_.give_up_after) continue;
            entry.in_flight = true;  // ours now
            old.push_back(entry);
        }
    }
    for (const auto& entry : old) {
        std::vector<std::pair<std::string, std::string>> refused;
        const auto age = duration_cast<milliseconds>(now - entry.created);
        for (const auto& recipient : entry.recipients) {
            refused.emplace_back(recipient,
                                 "relay unreachable, given up after " + FormatDuration(age) + ": " + error);
        }
        auto recorded = RecordFailure(entry, refused, true, now);
        std::string given_up;
        {
            std::lock_guard lock(mutex_);
            if (!recorded) {
                log_->error("mail {}: cannot record giving up: {}", entry.id, recorded.error().ToString());
                queue_[entry.id].in_flight = false;
                continue;
            }
            queue_.erase(entry.id);
            ++counters_.failed;
        }
        given_up = JoinReasons(refused);
        log_->warn("mail {}: {}", entry.id, given_up);
        if (events_.given_up) events_.given_up(entry.id, given_up);
    }
}

base::Result<void> MailOutbox::RecordFailure(const Entry& entry,
                                             const std::vector<std::pair<std::string, std::string>>& refused,
                                             bool message_done, base::WallTime now) {
    const fs::path record_path = FailedPath(entry.id, ".json");
    const fs::path failed_message = FailedPath(entry.id, ".eml");
    json record = json::object();
    if (fs::exists(record_path)) {
        if (auto text = ReadWholeFile(record_path)) {
            record = json::parse(*text, nullptr, false);
            if (!record.is_object()) record = json::object();
        }
    }
    json list =
        record.contains("refused") && record["refused"].is_array() ? record["refused"] : json::array();
    for (const auto& [recipient, reason] : refused) {
        json kept = json::array();
        for (const auto& item : list) {
            if (!item.is_object() || item.value("recipient", std::string()) != recipient)
                kept.push_back(item);
        }
        kept.push_back({{"recipient", recipient}, {"error", reason}});
        list = std::move(kept);
    }
    record["version"] = kStateVersion;
    record["id"] = entry.id;
    record["envelope_from"] = entry.envelope_from;
    record["refused"] = list;
    record["delivered"] = entry.delivered;
    record["still_queued"] = message_done ? std::vector<std::string>{} : entry.recipients;
    record["created_ms"] = UnixMs(entry.created);
    record["failed_ms"] = UnixMs(now);
    record["attempts"] = entry.attempts;
    if (auto written = base::WriteFileAtomically(record_path, Dump(record)); !written) return written;

    const fs::path queued_message = QueuePath(entry.id, ".eml");
    if (message_done) {
        // ENOENT: already moved, or the message file was lost (then the record says so).
        if (::rename(queued_message.c_str(), failed_message.c_str()) != 0 && errno != ENOENT)
            return base::ErrnoError("cannot move " + queued_message.string(), errno);
        // rename() of two names of one file (linked after an earlier partial give-up) does nothing.
        if (auto removed = Unlink(queued_message); !removed) return removed;
        if (auto synced = base::SyncPath(failed_message.parent_path()); !synced) return synced;
        if (auto removed = Unlink(QueuePath(entry.id, ".json")); !removed) return removed;
        return base::SyncPath(queued_message.parent_path());
    }
    // Still being sent to others: failed/ gets a second name for the same file.
    if (::link(queued_message.c_str(), failed_message.c_str()) != 0 && errno != EEXIST)
        return base::ErrnoError("cannot link " + queued_message.string(), errno);
    return base::SyncPath(failed_message.parent_path());
}

base::Result<void> MailOutbox::RemoveQueued(const std::string& id) {
    if (auto removed = Unlink(QueuePath(id, ".json")); !removed) return removed;
    if (auto removed = Unlink(QueuePath(id, ".eml")); !removed) return removed;
    return base::SyncPath(config_.directory / "queue");
}

}  // namespace faxd::mail
