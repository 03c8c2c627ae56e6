#include "mail/mailbox_poller.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

namespace faxd::mail {
namespace {

using base::ErrorCode;
using base::MakeError;
using std::chrono::milliseconds;

constexpr std::size_t kMaxListingBytes = 16 * 1024 * 1024;  // a LIST, SEARCH or FETCH answer
constexpr milliseconds kMinInterval = std::chrono::seconds{5};
constexpr std::uint64_t kFetchBytesPerSecond = 64 * 1024;  // on top of `timeout` for a message fetch
constexpr std::size_t kMaxReplyChars = 300;                // of a server line quoted in an error
constexpr std::size_t kMaxProblemsShown = 3;               // in status().last_error
constexpr std::size_t kMaxRememberedFailures = 1000;       // failed fetches kept to be tried last

bool IsPop3(MailboxProtocol protocol) {
    return protocol == MailboxProtocol::kPop3 || protocol == MailboxProtocol::kPop3s;
}

bool IsImplicitTls(MailboxProtocol protocol) {
    return protocol == MailboxProtocol::kPop3s || protocol == MailboxProtocol::kImaps;
}

// "60 s", "0.25 s".
std::string FormatSeconds(milliseconds span) {
    if (span.count() % 1000 == 0) return std::to_string(span.count() / 1000) + " s";
    char text[32];
    std::snprintf(text, sizeof text, "%g s", static_cast<double>(span.count()) / 1000.0);
    return text;
}

// Whole seconds for the libcurl options that take no milliseconds, at least 1.
long CeilSeconds(milliseconds span) {
    return std::max<long>(1, static_cast<long>((span.count() + 999) / 1000));
}

// The lines of an answer without their line ends; empty lines dropped.
std::vector<std::string_view> Lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) lines.push_back(line);
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

std::vector<std::string_view> Words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t pos = 0;
    while (pos < line.size()) {
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
        const std::size_t start = pos;
        while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
        if (pos > start) words.push_back(line.substr(start, pos - start));
    }
    return words;
}

template <typename Number>
bool ParseNumber(std::string_view text, Number& value) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size();
}

std::string Quote(std::string_view text) {
    if (text.size() > kMaxReplyChars) return "\"" + std::string(text.substr(0, kMaxReplyChars)) + "...\"";
    return "\"" + std::string(text) + "\"";
}

// Percent-encodes an IMAP folder name for the URL path, keeping "/" between levels (RFC 5092 §6).
std::string EscapeFolder(std::string_view folder) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string escaped;
    for (const char c : folder) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            escaped += c;
        } else {
            escaped += '%';
            escaped += kHex[byte >> 4];
            escaped += kHex[byte & 0xF];
        }
    }
    return escaped;
}

std::string HostForUrl(const std::string& host) {
    return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

}  // namespace

// One connection to the mailbox for one poll. Every request runs on the same easy handle, so libcurl keeps
// the connection and its login; once the first request is through, new sockets are refused (see the
// header: a command must never land in a second session).
class MailboxPoller::Session {
public:
    struct Request {
        std::string what;     // "LIST", "RETR 3": names the command in errors
        std::string path;     // URL path after host:port, from "/"
        std::string command;  // a custom command; "" for what the URL means (LIST, RETR, FETCH)
        bool no_body = false;
        std::size_t max_bytes = kMaxListingBytes;
        milliseconds timeout{};
        bool interruptible = true;  // Stop() cuts it off; not for DELE and STORE after a message was stored
    };

    Session(const MailboxConfig& config, const std::string& place, const std::atomic<bool>& abort)
        : config_(config), place_(place), abort_(abort), easy_(curl_easy_init()) {
        base_url_ = std::string(MailboxProtocolName(config.protocol)) + "://" + HostForUrl(config.host) +
                    ":" + std::to_string(config.port);
        if (easy_ == nullptr) return;
        curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, IsPop3(config.protocol) ? "pop3,pop3s" : "imap,imaps");
        curl_easy_setopt(easy_, CURLOPT_USERNAME, config.user.c_str());
        curl_easy_setopt(easy_, CURLOPT_PASSWORD, config.password.c_str());
        if (!IsImplicitTls(config.protocol)) {
            curl_easy_setopt(easy_, CURLOPT_USE_SSL,
                             config.require_tls ? static_cast<long>(CURLUSESSL_ALL)
                             : config.starttls  ? static_cast<long>(CURLUSESSL_TRY)
                                                : static_cast<long>(CURLUSESSL_NONE));
        }
        curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, config.verify_certificate ? 1L : 0L);
        curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, config.verify_certificate ? 2L : 0L);
        if (!config.ca_file.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, config.ca_file.c_str());
        curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.timeout.count()));
        // Every wait for a server line (RFC 1939/3501 commands, and QUIT/LOGOUT at cleanup).
        curl_easy_setopt(easy_, CURLOPT_SERVER_RESPONSE_TIMEOUT, CeilSeconds(config.timeout));
        curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_TIME, CeilSeconds(config.timeout));
        curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
        curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Session::Write);
        curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
        curl_easy_setopt(easy_, CURLOPT_OPENSOCKETFUNCTION, &Session::OpenSocket);
        curl_easy_setopt(easy_, CURLOPT_OPENSOCKETDATA, this);
        curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, &Session::Progress);
        curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, this);
        // The debug callback is how the server's own words reach error messages ("-ERR [AUTH] ...");
        // nothing is printed. Lines we send (with the password) are never looked at.
        curl_easy_setopt(easy_, CURLOPT_DEBUGFUNCTION, &Session::Debug);
        curl_easy_setopt(easy_, CURLOPT_DEBUGDATA, this);
        curl_easy_setopt(easy_, CURLOPT_VERBOSE, 1L);
    }

    ~Session() {
        interruptible_ = false;
        if (easy_ != nullptr) curl_easy_cleanup(easy_);  // QUIT or LOGOUT on a live connection
    }

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    base::Result<std::string> Run(const Request& request) {
        if (easy_ == nullptr)
            return MakeError(ErrorCode::kInternal, place_ + ": cannot create a libcurl handle");
        if (request.interruptible && abort_.load())
            return MakeError(ErrorCode::kCancelled, place_ + ": stopped");
        body_.clear();
        max_bytes_ = request.max_bytes;
        over_limit_ = false;
        error_[0] = '\0';
        refusal_.clear();
        interruptible_ = request.interruptible;
        const std::string url = base_url_ + request.path;
        curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST,
                         request.command.empty() ? nullptr : request.command.c_str());
        curl_easy_setopt(easy_, CURLOPT_NOBODY, request.no_body ? 1L : 0L);
        curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
        last_code_ = curl_easy_perform(easy_);
        if (last_code_ != CURLE_OK) return tl::unexpected(Describe(last_code_, request));
        allow_connect_ = false;  // one session from here on
        return std::move(body_);
    }

    bool encrypted() const { return encrypted_; }
    // The last request failed because the server refused the command ("-ERR", "NO", "BAD").
    bool Refused() const {
        return (last_code_ == CURLE_WEIRD_SERVER_REPLY || last_code_ == CURLE_QUOTE_ERROR) &&
               !refusal_.empty();
    }

private:
    static curl_socket_t OpenSocket(void* data, curlsocktype, curl_sockaddr* address) {
        auto* self = static_cast<Session*>(data);
        if (!self->allow_connect_) {
            self->connect_refused_ = true;
            return CURL_SOCKET_BAD;
        }
        return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    }

    static size_t Write(char* bytes, size_t size, size_t count, void* data) {
        auto* self = static_cast<Session*>(data);
        const std::size_t length = size * count;
        if (length > self->max_bytes_ - std::min(self->max_bytes_, self->body_.size())) {
            self->over_limit_ = true;
            return 0;  // CURLE_WRITE_ERROR
        }
        self->body_.append(bytes, length);
        return length;
    }

    static int Progress(void* data, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        const auto* self = static_cast<Session*>(data);
        return self->interruptible_ && self->abort_.load() ? 1 : 0;
    }

    static int Debug(CURL*, curl_infotype type, char* bytes, size_t size, void* data) {
        auto* self = static_cast<Session*>(data);
        if (type == CURLINFO_SSL_DATA_IN) self->encrypted_ = true;
        if (type != CURLINFO_HEADER_IN) return 0;  // server lines; never what we send
        const auto lines = Lines(std::string_view(bytes, size));
        if (lines.empty()) return 0;
        std::string_view line = lines.back();
        // IMAP: drop the command tag ("A004 NO ..." -> "NO ..."); untagged lines start with "*".
        if (!IsPop3(self->config_.protocol) && !line.starts_with("*") && !line.starts_with("+")) {
            const std::size_t space = line.find(' ');
            if (space != std::string_view::npos) line.remove_prefix(space + 1);
        }
        // The last refusal, not the last line: after a failed SELECT libcurl logs out before it returns.
        if (line.starts_with("-ERR") || line.starts_with("NO ") || line.starts_with("BAD ")) {
            self->refusal_.assign(line.substr(0, kMaxReplyChars + 1));
        }
        return 0;
    }

    // The server's refusal of the request ("-ERR ...", "NO ...", "BAD ..."), or "".
    std::string ServerRefusal() const {
        return refusal_.empty() ? std::string() : "server said " + Quote(refusal_);
    }

    base::Error Describe(CURLcode code, const Request& request) const {
        const std::string curl_text = error_[0] != '\0' ? std::string(error_) : curl_easy_strerror(code);
        const std::string refusal = ServerRefusal();
        ErrorCode error_code = ErrorCode::kProtocol;
        std::string text;
        switch (code) {
            case CURLE_COULDNT_RESOLVE_HOST:
                error_code = ErrorCode::kIo;
                text = "cannot resolve " + config_.host;
                break;
            case CURLE_COULDNT_CONNECT: {
                error_code = ErrorCode::kIo;
                if (connect_refused_) {
                    text = "the connection was lost before " + request.what +
                           "; the rest waits for the next poll";
                    break;
                }
                long os_errno = 0;
                curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &os_errno);
                text = os_errno != 0
                           ? "cannot connect: " + std::string(std::strerror(static_cast<int>(os_errno)))
                           : "cannot connect: " + curl_text;
                break;
            }
            case CURLE_OPERATION_TIMEDOUT:
                error_code = ErrorCode::kTimeout;
                text = request.what + " timed out (" + curl_text + ")";
                break;
            case CURLE_LOGIN_DENIED:
                // libcurl reports a refused IMAP SELECT with the same code as a refused login.
                if (std::string_view(curl_text).starts_with("Select failed")) {
                    error_code = ErrorCode::kNotFound;
                    text = "cannot open folder " + Quote(config_.folder);
                } else {
                    error_code = ErrorCode::kInvalidArgument;
                    text = "login failed";
                }
                text += refusal.empty() ? " (" + curl_text + ")" : ": " + refusal;
                break;
            case CURLE_USE_SSL_FAILED:
                error_code = ErrorCode::kUnsupported;
                text = "TLS is required but the server does not offer STARTTLS";
                break;
            case CURLE_PEER_FAILED_VERIFICATION:
                text = "TLS certificate not accepted: " + curl_text;
                break;
            case CURLE_SSL_CONNECT_ERROR:
                text = "TLS handshake failed: " + curl_text;
                break;
            case CURLE_SSL_CACERT_BADFILE:
                error_code = ErrorCode::kIo;
                text = "cannot use the CA file " + config_.ca_file.string() + ": " + curl_text;
                break;
            case CURLE_ABORTED_BY_CALLBACK:
                error_code = ErrorCode::kCancelled;
                text = "stopped during " + request.what;
                break;
            case CURLE_WRITE_ERROR:
                if (over_limit_) {
                    error_code = ErrorCode::kLimitExceeded;
                    text = request.what + ": the server sent more than " + std::to_string(request.max_bytes) +
                           " bytes";
                    break;
                }
                [[fallthrough]];
            default:
                text = request.what +
                       " failed: " + (refusal.empty() ? curl_text : refusal + " (" + curl_text + ")");
                break;
        }
        return base::Error{error_code, place_ + ": " + text, std::nullopt, std::nullopt};
    }

    const MailboxConfig& config_;
    const std::string& place_;
    const std::atomic<bool>& abort_;
    std::string base_url_;
    CURL* easy_;
    char error_[CURL_ERROR_SIZE] = {};
    std::string body_;
    std::size_t max_bytes_ = kMaxListingBytes;
    bool over_limit_ = false;
    bool interruptible_ = true;
    std::string refusal_;  // the server's last "-ERR", "NO" or "BAD" line in this request, tag dropped
    CURLcode last_code_ = CURLE_OK;
    bool allow_connect_ = true;  // until the first request succeeded
    bool connect_refused_ = false;
    bool encrypted_ = false;
};

std::string_view MailboxProtocolName(MailboxProtocol protocol) {
    switch (protocol) {
        case MailboxProtocol::kPop3:
            return "pop3";
        case MailboxProtocol::kPop3s:
            return "pop3s";
        case MailboxProtocol::kImap:
            return "imap";
        case MailboxProtocol::kImaps:
            return "imaps";
        case MailboxProtocol::kAuto:
            break;
    }
    return "auto";
}

std::uint16_t DefaultMailboxPort(MailboxProtocol protocol) {
    switch (protocol) {
        case MailboxProtocol::kPop3:
            return 110;  // RFC 1939
        case MailboxProtocol::kPop3s:
            return 995;  // RFC 8314 §7.3
        case MailboxProtocol::kImap:
            return 143;  // RFC 3501
        case MailboxProtocol::kImaps:
            return 993;  // RFC 8314 §7.3
        case MailboxProtocol::kAuto:
            break;
    }
    return 0;
}

base::Result<MailboxProtocol> ResolveMailboxProtocol(MailboxProtocol protocol, std::uint16_t port) {
    if (protocol != MailboxProtocol::kAuto) return protocol;
    for (const auto known :
         {MailboxProtocol::kPop3, MailboxProtocol::kPop3s, MailboxProtocol::kImap, MailboxProtocol::kImaps}) {
        if (port == DefaultMailboxPort(known)) return known;
    }
    if (port == 0) return MakeError(ErrorCode::kInvalidArgument, "neither port nor protocol is set");
    return MakeError(
        ErrorCode::kInvalidArgument,
        "port " + std::to_string(port) +
            " does not tell the protocol (110 pop3, 995 pop3s, 143 imap, 993 imaps): set protocol");
}

base::Result<std::vector<MailboxEntry>> ParsePop3List(std::string_view answer) {
    std::vector<MailboxEntry> entries;
    for (const auto line : Lines(answer)) {
        // RFC 1939 §5: "msg octets"; anything after the size is the server's own business.
        const auto words = Words(line);
        MailboxEntry entry;
        if (words.size() < 2 || !ParseNumber(words[0], entry.id) || !ParseNumber(words[1], entry.size)) {
            return MakeError(ErrorCode::kProtocol,
                             "LIST answer line " + Quote(line) + " is no \"number size\"");
        }
        entries.push_back(entry);
    }
    return entries;
}

base::Result<std::map<std::uint32_t, std::string>> ParsePop3Uidl(std::string_view answer) {
    std::map<std::uint32_t, std::string> uidls;
    for (const auto line : Lines(answer)) {
        // RFC 1939 §7: "msg unique-id", the id 1 to 70 characters 0x21 to 0x7E.
        const auto words = Words(line);
        std::uint32_t id = 0;
        if (words.size() < 2 || !ParseNumber(words[0], id) || words[1].size() > 70) {
            return MakeError(ErrorCode::kProtocol,
                             "UIDL answer line " + Quote(line) + " is no \"number id\"");
        }
        uidls[id] = std::string(words[1]);
    }
    return uidls;
}

base::Result<std::vector<std::uint32_t>> ParseImapSearch(std::string_view answer) {
    std::vector<std::uint32_t> uids;
    for (const auto line : Lines(answer)) {
        const auto words = Words(line);
        if (words.size() < 2 || words[0] != "*" || words[1] != "SEARCH") continue;  // EXISTS, FLAGS, ...
        for (std::size_t i = 2; i < words.size(); ++i) {
            std::uint32_t uid = 0;
            if (!ParseNumber(words[i], uid) || uid == 0) {
                return MakeError(ErrorCode::kProtocol, "SEARCH answer " + Quote(line) + " holds no UID list");
            }
            uids.push_back(uid);
        }
    }
    return uids;
}

base::Result<std::map<std::uint32_t, std::uint64_t>> ParseImapSizes(std::string_view answer) {
    std::map<std::uint32_t, std::uint64_t> sizes;
    for (const auto line : Lines(answer)) {
        // "* 4 FETCH (UID 7 RFC822.SIZE 1234)", items in any order (RFC 3501 §7.4.2).
        auto words = Words(line);
        if (words.size() < 3 || words[0] != "*" || words[2] != "FETCH") continue;
        std::uint32_t uid = 0;
        std::uint64_t size = 0;
        bool has_uid = false;
        bool has_size = false;
        for (std::size_t i = 3; i + 1 < words.size(); ++i) {
            std::string_view name = words[i];
            while (name.starts_with("(")) name.remove_prefix(1);
            std::string_view value = words[i + 1];
            while (value.ends_with(")")) value.remove_suffix(1);
            if (name == "UID") {
                has_uid = ParseNumber(value, uid);
                if (!has_uid) break;
            } else if (name == "RFC822.SIZE") {
                has_size = ParseNumber(value, size);
                if (!has_size) break;
            }
        }
        if (!has_size) continue;  // an unsolicited FETCH (flags changed by another client)
        if (!has_uid) return MakeError(ErrorCode::kProtocol, "FETCH answer " + Quote(line) + " has no UID");
        sizes[uid] = size;
    }
    return sizes;
}

std::string FormatImapUidSet(const std::vector<std::uint32_t>& sorted_uids) {
    std::string set;
    for (std::size_t i = 0; i < sorted_uids.size();) {
        std::size_t j = i;
        while (j + 1 < sorted_uids.size() && sorted_uids[j + 1] == sorted_uids[j] + 1) ++j;
        if (!set.empty()) set += ',';
        set += std::to_string(sorted_uids[i]);
        if (j > i) set += ':' + std::to_string(sorted_uids[j]);
        i = j + 1;
    }
    return set;
}

base::Result<std::unique_ptr<MailboxPoller>> MailboxPoller::Create(MailboxConfig config, StoreMessage store) {
    const std::string who = config.name.empty() ? "mailbox" : "mailbox '" + config.name + "'";
    auto invalid = [&](const std::string& what) {
        return MakeError(ErrorCode::kInvalidArgument, who + ": " + what);
    };
    if (config.host.empty()) return invalid("no host");
    if (config.user.empty()) return invalid("no user");
    if (!store) return invalid("no store callback");
    const auto protocol = ResolveMailboxProtocol(config.protocol, config.port);
    if (!protocol) return invalid(protocol.error().message);
    config.protocol = *protocol;
    if (config.port == 0) config.port = DefaultMailboxPort(config.protocol);
    if (!IsPop3(config.protocol) && config.folder.empty()) return invalid("no IMAP folder");
    if (config.max_message_bytes == 0) return invalid("max_message_bytes is 0");
    if (config.max_messages_per_poll == 0) return invalid("max_messages_per_poll is 0");
    if (config.timeout <= milliseconds::zero()) return invalid("timeout must be positive");
    if (config.interval <= milliseconds::zero()) return invalid("interval must be positive");
    if (!config.ca_file.empty() && !std::ifstream(config.ca_file).good()) {
        return invalid("cannot read ca_file " + config.ca_file.string());
    }
    std::unique_ptr<MailboxPoller> poller(new MailboxPoller(std::move(config), std::move(store)));
    MailboxConfig& settled = poller->config_;
    if (settled.interval < kMinInterval && !settled.allow_short_interval_for_tests) {
        poller->log_->warn("{}: interval {} is below the minimum, using {}", who,
                           FormatSeconds(settled.interval), FormatSeconds(kMinInterval));
        settled.interval = kMinInterval;
    }
    if (!settled.verify_certificate) {
        poller->log_->warn("{}: the server's TLS certificate is not checked (verify_certificate = false)",
                           who);
    }
    return poller;
}

MailboxPoller::MailboxPoller(MailboxConfig config, StoreMessage store)
    : config_(std::move(config)), store_(std::move(store)), log_(base::GetLogger("mailbox")) {
    place_ = std::string(MailboxProtocolName(config_.protocol)) + " " + HostForUrl(config_.host) + ":" +
             std::to_string(config_.port);
    // Thread-safe since libcurl 7.84; reference counted, paired with the cleanup in the destructor.
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

MailboxPoller::~MailboxPoller() {
    Stop();
    curl_global_cleanup();
}

void MailboxPoller::Start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    stop_requested_ = false;
    abort_transfers_ = false;
    thread_ = std::thread([this] { Run(); });
}

void MailboxPoller::Stop() {
    std::thread thread;
    {
        std::lock_guard lock(mutex_);
        stop_requested_ = true;
        abort_transfers_ = true;
        thread = std::move(thread_);
    }
    wake_.notify_all();
    if (thread.joinable()) thread.join();
    abort_transfers_ = false;  // PollOnce works again
}

void MailboxPoller::Run() {
    for (;;) {
        (void)PollOnce();  // recorded in status() and the log
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, config_.interval, [this] { return stop_requested_; })) return;
    }
}

MailboxPoller::Status MailboxPoller::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

base::Result<int> MailboxPoller::PollOnce() {
    std::lock_guard poll_lock(poll_mutex_);
    std::vector<std::string> problems;
    base::Result<int> result = 0;
    bool encrypted = false;
    {
        Session session(config_, place_, abort_transfers_);
        result = IsPop3(config_.protocol) ? PollPop3(session, problems) : PollImap(session, problems);
        encrypted = session.encrypted();
    }  // QUIT or LOGOUT
    Record(result, problems, encrypted);
    return result;
}

namespace {

std::string OversizedProblem(const std::string& place, const std::string& message, std::uint64_t size,
                             std::size_t limit) {
    return place + ": " + message + " has " + std::to_string(size) + " bytes, over the limit of " +
           std::to_string(limit) + "; left on the server";
}

}  // namespace

// A message found in the mailbox.
struct MailboxPoller::Candidate {
    std::uint32_t id = 0;  // POP3 message number (this session only) or IMAP UID
    std::uint64_t size = 0;
    std::string key;  // the same in every session ("uidl:...", "uid:..."); "" when the server gives none
};

base::Result<int> MailboxPoller::PollPop3(Session& session, std::vector<std::string>& problems) {
    // UIDL (RFC 1939 §7) names messages across sessions, so one that cannot be fetched is known next time.
    // It goes first: a refused command ends libcurl's connection, and before the first success the poller
    // may open another one.
    std::map<std::uint32_t, std::string> uidls;
    const auto uidl_answer = session.Run({"UIDL", "/", "UIDL", false, kMaxListingBytes, config_.timeout});
    if (uidl_answer) {
        auto parsed = ParsePop3Uidl(*uidl_answer);
        if (parsed) uidls = std::move(*parsed);
    } else if (!session.Refused()) {
        return tl::unexpected(uidl_answer.error());
    }
    const auto listing = session.Run({"LIST", "/", "", false, kMaxListingBytes, config_.timeout});
    if (!listing) return tl::unexpected(listing.error());
    auto entries = ParsePop3List(*listing);
    if (!entries) return MakeError(ErrorCode::kProtocol, place_ + ": " + entries.error().message);
    std::vector<Candidate> candidates;
    for (const auto& entry : *entries) {
        const auto uidl = uidls.find(entry.id);
        candidates.push_back({entry.id, entry.size, uidl == uidls.end() ? "" : "uidl:" + uidl->second});
    }
    const auto stored = Take(session, std::move(candidates), problems);
    if (!stored || *stored == 0) return stored;
    // Our own QUIT rather than the one at cleanup: its answer tells whether the deletions took effect
    // (RFC 1939 §6).
    const auto quit = session.Run({"QUIT", "/", "QUIT", true, 0, config_.timeout, false});
    if (!quit) {
        return MakeError(quit.error().code,
                         quit.error().message +
                             " - the stored messages stay on the server and will be fetched "
                             "again (the gateway drops duplicates)");
    }
    return stored;
}

base::Result<int> MailboxPoller::PollImap(Session& session, std::vector<std::string>& problems) {
    const std::string folder = "/" + EscapeFolder(config_.folder);
    const auto search =
        session.Run({"UID SEARCH", folder, "UID SEARCH UNDELETED", false, kMaxListingBytes, config_.timeout});
    if (!search) return tl::unexpected(search.error());
    auto uids = ParseImapSearch(*search);
    if (!uids) return MakeError(ErrorCode::kProtocol, place_ + ": " + uids.error().message);
    std::sort(uids->begin(), uids->end());
    uids->erase(std::unique(uids->begin(), uids->end()), uids->end());

    int stored = 0;
    if (!uids->empty()) {
        const auto sizes_answer = session.Run({"UID FETCH (RFC822.SIZE)", folder,
                                               "UID FETCH " + FormatImapUidSet(*uids) + " (RFC822.SIZE)",
                                               false, kMaxListingBytes, config_.timeout});
        if (!sizes_answer) return tl::unexpected(sizes_answer.error());
        const auto sizes = ParseImapSizes(*sizes_answer);
        if (!sizes) return MakeError(ErrorCode::kProtocol, place_ + ": " + sizes.error().message);
        std::vector<Candidate> candidates;
        for (const std::uint32_t uid : *uids) {
            const auto size = sizes->find(uid);
            if (size == sizes->end()) continue;  // expunged by another client meanwhile
            candidates.push_back({uid, size->second, "uid:" + std::to_string(uid)});
        }
        auto taken = Take(session, std::move(candidates), problems);
        if (!taken) return taken;
        stored = *taken;
    }
    // Also finishes a poll that died between STORE and EXPUNGE (see the header).
    const auto expunged =
        session.Run({"EXPUNGE", folder, "EXPUNGE", false, kMaxListingBytes, config_.timeout, false});
    if (!expunged) return tl::unexpected(expunged.error());
    return stored;
}

base::Result<int> MailboxPoller::Take(Session& session, std::vector<Candidate> candidates,
                                      std::vector<std::string>& problems) {
    const bool pop3 = IsPop3(config_.protocol);
    const std::string folder = "/" + EscapeFolder(config_.folder);
    std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    // Oldest first, but messages whose fetch failed before go last: one unreadable message must not hold up
    // the others (any failed command ends the poll, see the header).
    std::stable_partition(candidates.begin(), candidates.end(),
                          [this](const Candidate& c) { return !failed_fetches_.contains(c.key); });
    int stored = 0;
    std::size_t taken = 0;
    for (const Candidate& candidate : candidates) {
        const std::string number = std::to_string(candidate.id);
        const std::string message = (pop3 ? "message " : "message UID ") + number;
        if (candidate.size > config_.max_message_bytes) {
            problems.push_back(OversizedProblem(place_, message, candidate.size, config_.max_message_bytes));
            continue;
        }
        if (taken++ == config_.max_messages_per_poll) break;  // the rest in the next poll
        const milliseconds fetch_timeout =
            config_.timeout + std::chrono::seconds(candidate.size / kFetchBytesPerSecond);
        auto raw = pop3 ? session.Run({"RETR " + number, "/" + number, "", false, config_.max_message_bytes,
                                       fetch_timeout})
                        : session.Run({"FETCH UID " + number, folder + "/;UID=" + number, "", false,
                                       config_.max_message_bytes, fetch_timeout});
        if (!raw) {
            if (raw.error().code == ErrorCode::kCancelled) return tl::unexpected(raw.error());
            if (!candidate.key.empty()) {
                if (failed_fetches_.size() >= kMaxRememberedFailures) failed_fetches_.clear();
                failed_fetches_.insert(candidate.key);
            }
            return MakeError(raw.error().code, raw.error().message + " (" + message +
                                                   " is tried again after the others in the next poll)");
        }
        failed_fetches_.erase(candidate.key);
        const auto saved = store_(*raw);
        if (!saved) {
            problems.push_back(place_ + ": " + message + " not stored (" + saved.error().ToString() +
                               "); left on the server");
            continue;
        }
        ++stored;
        {
            std::lock_guard lock(mutex_);
            ++status_.stored_total;
        }
        log_->debug("mailbox '{}': stored {} ({} bytes)", config_.name, message, raw->size());
        // POP3 DELE only marks it; the server removes it at QUIT (RFC 1939 §6). IMAP: EXPUNGE at the end.
        const auto removed =
            pop3 ? session.Run({"DELE " + number, "/" + number, "DELE", true, 0, config_.timeout, false})
                 : session.Run({"UID STORE " + number, folder,
                                "UID STORE " + number + " +FLAGS.SILENT (\\Deleted)", false, kMaxListingBytes,
                                config_.timeout, false});
        if (!removed)
            return tl::unexpected(removed.error());  // stored, so fetched again: the gateway dedupes
    }
    return stored;
}

void MailboxPoller::Record(const base::Result<int>& result, const std::vector<std::string>& problems,
                           bool encrypted) {
    const auto now = std::chrono::time_point_cast<std::chrono::system_clock::duration>(clock_.WallNow());
    std::string text = result ? std::string() : result.error().message;
    for (std::size_t i = 0; i < problems.size() && i < kMaxProblemsShown; ++i) {
        text += (text.empty() ? "" : "; ") + problems[i];
    }
    if (problems.size() > kMaxProblemsShown) {
        text += "; and " + std::to_string(problems.size() - kMaxProblemsShown) + " more left on the server";
    }
    std::string previous;
    {
        std::lock_guard lock(mutex_);
        previous = std::move(status_.last_error);
        status_.last_poll = now;
        if (result) status_.last_success = now;
        status_.last_error = text;
        status_.left_on_server = problems.size();
        status_.encrypted = encrypted;
    }
    const std::string who = config_.name.empty() ? "mailbox" : "mailbox '" + config_.name + "'";
    if (result && *result > 0) log_->info("{}: stored {} message(s)", who, *result);
    if (text != previous) {
        if (text.empty()) {
            log_->info("{}: polling works again", who);
        } else if (!result && result.error().code == ErrorCode::kCancelled) {
            log_->info("{}: {}", who, text);
        } else {
            log_->warn("{}: {}", who, text);
        }
    }
    if (result && !encrypted && !warned_plaintext_) {
        warned_plaintext_ = true;
        log_->warn("{}: logged in to {} without TLS: the password crossed the network unencrypted", who,
                   place_);
    }
}

}  // namespace faxd::mail
