// The SMTP state machine; see smtp_session.hpp for the decisions. Reply texts follow RFC 5321 §4.2 with the
// enhanced codes of RFC 3463.
#include "mail/smtp_session.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <string>

namespace faxd::mail {
namespace {

// RFC 5321 §4.5.3.1: the protocol minimums, so a configuration cannot make the session unusable.
constexpr std::size_t kMinCommandLine = 512;
constexpr std::size_t kMinDataLine = 1000;
constexpr std::size_t kMaxPathBytes = 256;  // RFC 5321 §4.5.3.1.3
constexpr std::size_t kMaxReplyText = 512;  // what we echo of a policy reply or an error

bool IEquals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) ==
                      std::toupper(static_cast<unsigned char>(y));
           });
}

bool IStartsWith(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && IEquals(text.substr(0, prefix.size()), prefix);
}

std::string_view TrimSpaces(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool IsControl(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

// Peer- or owner-supplied text going into a reply or a header: one line, printable, bounded.
std::string Printable(std::string_view text, std::size_t max_bytes = kMaxReplyText) {
    std::string out;
    for (const char c : text.substr(0, std::min(text.size(), max_bytes))) out += IsControl(c) ? ' ' : c;
    return out;
}

// Splits "<path> PARAMS" (after "FROM:" or "TO:"). Lenient where it costs nothing: spaces after the colon
// and a path without angle brackets are accepted; a source route (RFC 5321 §4.1.2, "@a,@b:") is dropped.
bool ParsePath(std::string_view text, std::string& address, std::string_view& params) {
    text = TrimSpaces(text);
    std::string_view inner;
    if (!text.empty() && text.front() == '<') {
        bool quoted = false;
        std::size_t end = 1;
        for (; end < text.size(); ++end) {
            const char c = text[end];
            if (c == '\\' && quoted) {
                ++end;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == '>' && !quoted) {
                break;
            }
        }
        if (end >= text.size()) return false;
        inner = text.substr(1, end - 1);
        params = text.substr(end + 1);
        if (!params.empty() && params.front() != ' ') return false;
    } else {
        const std::size_t space = text.find(' ');
        inner = text.substr(0, space);
        params = space == std::string_view::npos ? std::string_view() : text.substr(space);
        if (inner.empty()) return false;
    }
    if (!inner.empty() && inner.front() == '@') {
        const std::size_t colon = inner.find(':');
        if (colon == std::string_view::npos) return false;
        inner.remove_prefix(colon + 1);
    }
    if (inner.size() > kMaxPathBytes) return false;
    if (std::any_of(inner.begin(), inner.end(), IsControl)) return false;
    address.assign(inner);
    params = TrimSpaces(params);
    return true;
}

struct Parameter {
    std::string_view key;
    std::string_view value;
};

std::vector<Parameter> SplitParameters(std::string_view params) {
    std::vector<Parameter> out;
    while (!(params = TrimSpaces(params)).empty()) {
        const std::size_t space = params.find(' ');
        const std::string_view item = params.substr(0, space);
        params = space == std::string_view::npos ? std::string_view() : params.substr(space);
        const std::size_t equals = item.find('=');
        out.push_back({item.substr(0, equals),
                       equals == std::string_view::npos ? std::string_view() : item.substr(equals + 1)});
    }
    return out;
}

int Base64Value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Strict RFC 4648 base64 (padding required), as RFC 4954 asks of SASL responses.
std::optional<std::string> DecodeBase64(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int values[4];
        int padding = 0;
        for (int j = 0; j < 4; ++j) {
            const char c = text[i + j];
            if (c == '=' && last && j >= 2) {
                values[j] = 0;
                ++padding;
                continue;
            }
            if (padding > 0) return std::nullopt;  // data after '='
            values[j] = Base64Value(c);
            if (values[j] < 0) return std::nullopt;
        }
        const unsigned group = (static_cast<unsigned>(values[0]) << 18) |
                               (static_cast<unsigned>(values[1]) << 12) |
                               (static_cast<unsigned>(values[2]) << 6) | static_cast<unsigned>(values[3]);
        out += static_cast<char>((group >> 16) & 0xff);
        if (padding < 2) out += static_cast<char>((group >> 8) & 0xff);
        if (padding < 1) out += static_cast<char>(group & 0xff);
    }
    return out;
}

// RFC 5322 §3.3 date-time in UTC, without locale-dependent names.
std::string FormatDate(base::WallTime when) {
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t seconds =
        std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday % 7],
                  utc.tm_mday, kMonths[utc.tm_mon % 12], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                  utc.tm_sec);
    return text;
}

void Wipe(std::string& secret) {
    std::fill(secret.begin(), secret.end(), '\0');
    secret.clear();
}

}  // namespace

SmtpSession::SmtpSession(const SmtpSessionConfig& config, const SmtpPolicy& policy, const base::Clock& clock,
                         Connection connection)
    : config_(config), policy_(policy), clock_(clock), connection_(std::move(connection)) {}

void SmtpSession::Start() { Reply("220 " + config_.hostname + " ESMTP faxd"); }

void SmtpSession::Receive(std::string_view bytes) {
    // After "220 Ready to start TLS" nothing plaintext may reach the TLS session (RFC 3207 §6).
    if (state_ == State::kClosed || state_ == State::kStartTlsPending) return;
    if (input_pos_ > 0) {
        input_.erase(0, input_pos_);
        input_pos_ = 0;
    }
    input_.append(bytes);
}

std::string SmtpSession::TakeOutput() { return std::exchange(output_, {}); }

SmtpStep SmtpSession::Process() {
    while (true) {
        switch (state_) {
            case State::kClosed:
                return SmtpStep::kClose;
            case State::kStartTlsPending:
                return SmtpStep::kStartTls;
            case State::kAuthPending:
                return SmtpStep::kAuthenticate;
            case State::kDeliverPending:
                return SmtpStep::kDeliver;
            case State::kData:
                if (!ProcessData()) return SmtpStep::kNeedInput;
                break;
            case State::kCommand:
            case State::kAuthPlainResponse:
            case State::kAuthLoginUser:
            case State::kAuthLoginPassword: {
                const std::optional<std::string> line = NextCommandLine();
                if (!line) {
                    if (state_ == State::kClosed) continue;
                    return SmtpStep::kNeedInput;
                }
                if (state_ == State::kCommand) {
                    HandleCommand(*line);
                } else {
                    HandleAuthResponse(*line);
                }
                break;
            }
        }
    }
}

std::optional<std::string> SmtpSession::NextCommandLine() {
    const std::size_t max_line = std::max(config_.max_command_line_bytes, kMinCommandLine);
    while (state_ != State::kClosed) {
        const std::string_view pending = std::string_view(input_).substr(input_pos_);
        const std::size_t lf = pending.find('\n');
        if (discarding_long_line_) {
            if (lf == std::string_view::npos) {
                input_pos_ = input_.size();
                return std::nullopt;
            }
            input_pos_ += lf + 1;
            discarding_long_line_ = false;
            continue;
        }
        if (lf == std::string_view::npos) {
            // The line, once its LF arrives, will be longer than allowed: say so now, skip the rest of it.
            if (pending.size() + 1 > max_line) {
                input_pos_ = input_.size();
                discarding_long_line_ = true;
                BadCommand("500 5.5.2 Line too long");
            }
            return std::nullopt;
        }
        input_pos_ += lf + 1;
        if (lf + 1 > max_line) {
            BadCommand("500 5.5.2 Line too long");
            continue;
        }
        std::string_view line = pending.substr(0, lf);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return std::string(line);
    }
    return std::nullopt;
}

// DATA (RFC 5321 §4.1.1.4, §4.5.2): lines end with CRLF only; a line "." ends the message; a leading dot is
// removed. An over-long line is taken in parts (its CR may be the last byte so far, so that stays).
bool SmtpSession::ProcessData() {
    const std::size_t max_line = std::max(config_.max_data_line_bytes, kMinDataLine);
    while (true) {
        const std::string_view pending = std::string_view(input_).substr(input_pos_);
        const std::size_t eol = pending.find("\r\n");
        if (eol == std::string_view::npos) {
            if (pending.size() + 1 > max_line) {
                data_line_too_long_ = true;
                const std::size_t take = pending.back() == '\r' ? pending.size() - 1 : pending.size();
                std::string_view part = pending.substr(0, take);
                if (!data_mid_line_ && !part.empty() && part.front() == '.') part.remove_prefix(1);
                AppendDataBytes(part);
                data_mid_line_ = true;
                input_pos_ += take;
            }
            return false;
        }
        std::string_view line = pending.substr(0, eol);
        input_pos_ += eol + 2;
        if (!data_mid_line_) {
            if (line == ".") {
                EndOfData();
                return true;
            }
            if (eol + 2 > max_line) data_line_too_long_ = true;
            if (!line.empty() && line.front() == '.') line.remove_prefix(1);
        }
        data_mid_line_ = false;
        AppendDataBytes(line);
        AppendDataBytes("\r\n");
    }
}

void SmtpSession::AppendDataBytes(std::string_view bytes) {
    if (bytes != "\r\n" && bytes.find_first_of("\r\n") != std::string_view::npos) data_bare_newline_ = true;
    body_bytes_ += bytes.size();
    if (body_bytes_ > config_.max_message_bytes) {
        if (!data_too_large_) {
            data_too_large_ = true;
            message_.clear();
            message_.shrink_to_fit();
        }
        return;
    }
    message_.append(bytes);
}

void SmtpSession::EndOfData() {
    state_ = State::kCommand;
    if (data_too_large_) {
        Reply("552 5.3.4 Message size exceeds fixed maximum message size (" +
              std::to_string(config_.max_message_bytes) + " bytes)");
        return ResetTransaction();
    }
    if (data_line_too_long_) {
        Reply("500 5.5.2 Line too long in the message (over " +
              std::to_string(std::max(config_.max_data_line_bytes, kMinDataLine)) + " bytes)");
        return ResetTransaction();
    }
    if (data_bare_newline_ && !config_.accept_bare_newlines) {
        Reply("550 5.6.0 Message contains a bare CR or LF; lines must end with CRLF (RFC 5321 §2.3.8)");
        return ResetTransaction();
    }
    envelope_.helo = helo_;
    envelope_.remote_address = connection_.remote_address;
    envelope_.tls = connection_.tls_active;
    envelope_.authenticated_user = authenticated_user_;
    state_ = State::kDeliverPending;
}

void SmtpSession::DeliveryDone(const base::Result<std::string>& queue_id) {
    if (state_ != State::kDeliverPending) return;
    state_ = State::kCommand;
    if (queue_id) {
        Reply("250 2.0.0 Ok: queued as " + Printable(*queue_id, 128));
    } else {
        // 4xx: the client keeps the message and tries again (RFC 5321 §4.2.5).
        Reply("451 4.3.0 Cannot store the message now (" + Printable(queue_id.error().message, 200) +
              "); try again later");
    }
    ResetTransaction();
}

void SmtpSession::HandleCommand(std::string_view line) {
    const std::size_t space = line.find(' ');
    const std::string_view verb = line.substr(0, space);
    const std::string_view argument =
        space == std::string_view::npos ? std::string_view() : TrimSpaces(line.substr(space + 1));
    if (IEquals(verb, "EHLO")) return OnEhlo(argument, true);
    if (IEquals(verb, "HELO")) return OnEhlo(argument, false);
    if (IEquals(verb, "MAIL")) return OnMail(argument);
    if (IEquals(verb, "RCPT")) return OnRcpt(argument);
    if (IEquals(verb, "DATA")) return OnData(argument);
    if (IEquals(verb, "RSET")) {
        if (!argument.empty()) return BadCommand("501 5.5.4 RSET takes no arguments");
        ResetTransaction();
        return Reply("250 2.0.0 Ok");
    }
    if (IEquals(verb, "NOOP")) return Reply("250 2.0.0 Ok");
    if (IEquals(verb, "QUIT")) return Close("221 2.0.0 Bye");
    if (IEquals(verb, "VRFY")) {
        if (argument.empty()) return BadCommand("501 5.5.4 VRFY needs an argument");
        // RFC 5321 §3.5.3: do not reveal which numbers exist.
        return Reply("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
    }
    if (IEquals(verb, "HELP")) {
        return Reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
    }
    if (IEquals(verb, "STARTTLS")) return OnStartTls(argument);
    if (IEquals(verb, "AUTH")) return OnAuth(argument);
    if (IEquals(verb, "EXPN") || IEquals(verb, "TURN") || IEquals(verb, "ETRN") || IEquals(verb, "BDAT")) {
        return BadCommand("502 5.5.1 Command not implemented");
    }
    // A browser or proxy pointed at the port (cross-protocol requests): nothing SMTP will follow.
    if (IEquals(verb, "GET") || IEquals(verb, "POST") || IEquals(verb, "CONNECT") || IEquals(verb, "HEAD") ||
        IEquals(verb, "PUT")) {
        return Close("421 4.7.0 " + config_.hostname + " That is not SMTP, closing connection");
    }
    BadCommand("500 5.5.2 Command unrecognized");
}

void SmtpSession::OnEhlo(std::string_view argument, bool extended) {
    const std::string_view domain = argument.substr(0, argument.find(' '));
    if (domain.empty() || std::any_of(domain.begin(), domain.end(), IsControl)) {
        return BadCommand(extended ? "501 5.5.4 EHLO needs a domain" : "501 5.5.4 HELO needs a domain");
    }
    // RFC 5321 §4.1.4: EHLO in the middle of a transaction resets it.
    ResetTransaction();
    helo_ = Printable(domain, 255);
    extended_ = extended;
    if (!extended) return Reply("250 " + config_.hostname);
    std::vector<std::string> lines = {config_.hostname, "PIPELINING",
                                      "SIZE " + std::to_string(config_.max_message_bytes), "8BITMIME",
                                      "ENHANCEDSTATUSCODES"};
    if (connection_.tls_available && !connection_.tls_active) lines.push_back("STARTTLS");
    if (AuthOffered()) lines.push_back("AUTH PLAIN LOGIN");
    for (std::size_t i = 0; i < lines.size(); ++i) {
        Reply((i + 1 < lines.size() ? "250-" : "250 ") + lines[i]);
    }
}

void SmtpSession::OnMail(std::string_view argument) {
    if (helo_.empty()) return BadCommand("503 5.5.1 Send EHLO or HELO first");
    if (in_transaction_) return BadCommand("503 5.5.1 Nested MAIL command");
    if (config_.require_auth && authenticated_user_.empty()) {
        return Reply("530 5.7.0 Authentication required");
    }
    if (!IStartsWith(argument, "FROM:")) return BadCommand("501 5.5.4 Syntax: MAIL FROM:<address>");
    std::string address;
    std::string_view params;
    if (!ParsePath(argument.substr(5), address, params)) {
        return BadCommand("501 5.1.7 Bad sender address syntax");
    }
    for (const Parameter& parameter : SplitParameters(params)) {
        if (IEquals(parameter.key, "SIZE")) {
            // RFC 1870 §6: refuse at MAIL when the announced size is over the limit.
            const bool digits = !parameter.value.empty() && parameter.value.size() <= 18 &&
                                std::all_of(parameter.value.begin(), parameter.value.end(),
                                            [](char c) { return c >= '0' && c <= '9'; });
            if (!digits) return BadCommand("501 5.5.4 Bad SIZE parameter");
            if (std::stoull(std::string(parameter.value)) > config_.max_message_bytes) {
                return Reply("552 5.3.4 Message size exceeds fixed maximum message size (" +
                             std::to_string(config_.max_message_bytes) + " bytes)");
            }
        } else if (IEquals(parameter.key, "BODY")) {
            if (!IEquals(parameter.value, "7BIT") && !IEquals(parameter.value, "8BITMIME")) {
                return BadCommand("501 5.5.4 Bad BODY parameter");
            }
        } else if (!IEquals(parameter.key, "AUTH")) {  // AUTH=<...> (RFC 4954 §5) is accepted and ignored
            return BadCommand("555 5.5.4 Unsupported MAIL parameter");
        }
    }
    if (policy_.check_sender) {
        const SmtpVerdict verdict = policy_.check_sender(address);
        if (!verdict.accepted) return PolicyReply(verdict);
    }
    in_transaction_ = true;
    envelope_ = {};
    envelope_.mail_from = std::move(address);
    Reply("250 2.1.0 Ok");
}

void SmtpSession::OnRcpt(std::string_view argument) {
    if (!in_transaction_) return BadCommand("503 5.5.1 Need MAIL before RCPT");
    if (!IStartsWith(argument, "TO:")) return BadCommand("501 5.5.4 Syntax: RCPT TO:<address>");
    std::string address;
    std::string_view params;
    if (!ParsePath(argument.substr(3), address, params) || address.empty()) {
        return BadCommand("501 5.1.3 Bad recipient address syntax");
    }
    if (!params.empty()) return BadCommand("555 5.5.4 Unsupported RCPT parameter");
    if (envelope_.rcpt_to.size() >= config_.max_recipients) return Reply("452 4.5.3 Too many recipients");
    if (policy_.check_recipient) {
        const SmtpVerdict verdict = policy_.check_recipient(address);
        if (!verdict.accepted) return PolicyReply(verdict);
    }
    envelope_.rcpt_to.push_back(std::move(address));
    Reply("250 2.1.5 Ok");
}

void SmtpSession::OnData(std::string_view argument) {
    if (!argument.empty()) return BadCommand("501 5.5.4 DATA takes no arguments");
    if (!in_transaction_) return BadCommand("503 5.5.1 Need MAIL before DATA");
    // RFC 2920 §3.1: with every RCPT refused, a pipelined DATA gets 554, not a 354.
    if (envelope_.rcpt_to.empty()) return Reply("554 5.5.1 No valid recipients");
    message_ = ReceivedHeader();
    body_bytes_ = 0;
    data_mid_line_ = data_too_large_ = data_line_too_long_ = data_bare_newline_ = false;
    state_ = State::kData;
    Reply("354 End data with <CR><LF>.<CR><LF>");
}

void SmtpSession::OnStartTls(std::string_view argument) {
    if (connection_.tls_active) return BadCommand("503 5.5.1 TLS already active");
    if (!connection_.tls_available) return BadCommand("502 5.5.1 STARTTLS not available");
    if (!argument.empty()) return BadCommand("501 5.5.4 STARTTLS takes no arguments");
    Reply("220 2.0.0 Ready to start TLS");
    // The injection defence: whatever came after STARTTLS was sent in plaintext and is dropped.
    input_.clear();
    input_pos_ = 0;
    state_ = State::kStartTlsPending;
}

void SmtpSession::TlsStarted() {
    if (state_ != State::kStartTlsPending) return;
    // RFC 3207 §4.2: forget everything learnt before TLS; the client starts again with EHLO.
    connection_.tls_active = true;
    helo_.clear();
    extended_ = false;
    authenticated_user_.clear();
    ResetTransaction();
    input_.clear();
    input_pos_ = 0;
    state_ = State::kCommand;
}

bool SmtpSession::AuthOffered() const {
    return static_cast<bool>(policy_.authenticate) &&
           (connection_.tls_active || config_.allow_auth_without_tls);
}

void SmtpSession::OnAuth(std::string_view argument) {
    if (!policy_.authenticate) return BadCommand("502 5.5.1 AUTH not available");
    if (!AuthOffered())
        return BadCommand("538 5.7.11 Encryption required for requested authentication mechanism");
    if (!extended_) return BadCommand("503 5.5.1 Send EHLO first");
    if (!authenticated_user_.empty()) return BadCommand("503 5.5.1 Already authenticated");
    if (in_transaction_) return BadCommand("503 5.5.1 AUTH not allowed during a mail transaction");
    const std::size_t space = argument.find(' ');
    const std::string_view mechanism = argument.substr(0, space);
    const std::optional<std::string_view> initial =
        space == std::string_view::npos ? std::nullopt
                                        : std::optional(TrimSpaces(argument.substr(space + 1)));
    if (IEquals(mechanism, "PLAIN")) {
        if (!initial) {
            state_ = State::kAuthPlainResponse;
            return Reply("334 ");
        }
        return StartAuthPlain(*initial == "=" ? std::string_view() : *initial);  // RFC 4954 §4: "=" is empty
    }
    if (IEquals(mechanism, "LOGIN")) {
        if (!initial) {
            state_ = State::kAuthLoginUser;
            return Reply("334 VXNlcm5hbWU6");  // "Username:"
        }
        return HandleAuthResponse(*initial);
    }
    BadCommand("504 5.5.4 Unrecognized authentication type");
}

void SmtpSession::HandleAuthResponse(std::string_view line) {
    const State asked =
        state_ == State::kCommand ? State::kAuthLoginUser : state_;  // LOGIN's initial response
    state_ = State::kCommand;
    if (line == "*") return BadCommand("501 5.7.0 Authentication cancelled");
    if (asked == State::kAuthPlainResponse) return StartAuthPlain(line);
    if (asked == State::kAuthLoginPassword) return StartAuthLoginPassword(line);
    std::optional<std::string> user = DecodeBase64(line);
    if (!user || user->empty()) return BadCommand("501 5.5.2 Cannot decode the response");
    pending_user_ = std::move(*user);
    state_ = State::kAuthLoginPassword;
    Reply("334 UGFzc3dvcmQ6");  // "Password:"
}

// RFC 4616: [authzid] NUL authcid NUL passwd. Acting for someone else (a different authzid) is refused.
void SmtpSession::StartAuthPlain(std::string_view response) {
    std::optional<std::string> decoded = DecodeBase64(response);
    if (!decoded) return BadCommand("501 5.5.2 Cannot decode the response");
    const std::size_t first = decoded->find('\0');
    const std::size_t second = first == std::string::npos ? first : decoded->find('\0', first + 1);
    if (second == std::string::npos || decoded->find('\0', second + 1) != std::string::npos) {
        Wipe(*decoded);
        return BadCommand("501 5.5.2 Malformed PLAIN response");
    }
    const std::string authzid = decoded->substr(0, first);
    pending_user_ = decoded->substr(first + 1, second - first - 1);
    pending_password_ = decoded->substr(second + 1);
    Wipe(*decoded);
    if (pending_user_.empty() || (!authzid.empty() && authzid != pending_user_)) {
        Wipe(pending_password_);
        return BadCommand("535 5.7.8 Authentication credentials invalid");
    }
    state_ = State::kAuthPending;
}

void SmtpSession::StartAuthLoginPassword(std::string_view response) {
    std::optional<std::string> password = DecodeBase64(response);
    if (!password) return BadCommand("501 5.5.2 Cannot decode the response");
    pending_password_ = std::move(*password);
    state_ = State::kAuthPending;
}

void SmtpSession::AuthenticationDone(bool accepted) {
    if (state_ != State::kAuthPending) return;
    state_ = State::kCommand;
    Wipe(pending_password_);
    if (!accepted) return BadCommand("535 5.7.8 Authentication credentials invalid");
    authenticated_user_ = std::move(pending_user_);
    pending_user_.clear();
    Reply("235 2.7.0 Authentication successful");
}

void SmtpSession::OnTimeout() {
    if (state_ == State::kClosed) return;
    Close("421 4.4.2 " + config_.hostname + " Timeout exceeded, closing connection");
}

std::chrono::milliseconds SmtpSession::CurrentTimeout() const {
    return state_ == State::kData ? config_.data_timeout : config_.command_timeout;
}

void SmtpSession::ResetTransaction() {
    in_transaction_ = false;
    envelope_ = {};
    message_.clear();
    message_.shrink_to_fit();
    body_bytes_ = 0;
}

void SmtpSession::Reply(std::string_view text) {
    output_.append(text);
    output_.append("\r\n");
}

void SmtpSession::PolicyReply(const SmtpVerdict& verdict) {
    std::string text = Printable(verdict.reply);
    const bool has_code = text.size() >= 3 && (text[0] == '4' || text[0] == '5') &&
                          std::isdigit(static_cast<unsigned char>(text[1])) &&
                          std::isdigit(static_cast<unsigned char>(text[2])) &&
                          (text.size() == 3 || text[3] == ' ');
    Reply(has_code ? text : "550 " + text);
}

void SmtpSession::BadCommand(std::string_view text) {
    Reply(text);
    if (++bad_commands_ >= config_.max_bad_commands) {
        Close("421 4.7.0 " + config_.hostname + " Too many errors, closing connection");
    }
}

void SmtpSession::Close(std::string_view text) {
    Reply(text);
    state_ = State::kClosed;
    input_.clear();
    input_pos_ = 0;
    Wipe(pending_password_);
}

// RFC 5321 §4.4 trace header; "with" per RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA).
std::string SmtpSession::ReceivedHeader() const {
    std::string with = extended_ ? "ESMTP" : "SMTP";
    if (extended_ && connection_.tls_active) with += "S";
    if (extended_ && !authenticated_user_.empty()) with += "A";
    const std::string& address = connection_.remote_address;
    const std::string literal =
        address.find(':') != std::string::npos ? "[IPv6:" + address + "]" : "[" + address + "]";
    std::string header = "Received: from " + Printable(helo_, 255) + " (" + Printable(literal, 64) +
                         ")\r\n\tby " + config_.hostname + " (faxd) with " + with;
    if (envelope_.rcpt_to.size() == 1)
        header += "\r\n\tfor <" + Printable(envelope_.rcpt_to.front(), 256) + ">";
    return header + ";\r\n\t" + FormatDate(clock_.WallNow()) + "\r\n";
}

SmtpStep RunSmtpSession(SmtpSession& session, const SmtpPolicy& policy) {
    while (true) {
        const SmtpStep step = session.Process();
        if (step == SmtpStep::kAuthenticate) {
            session.AuthenticationDone(policy.authenticate &&
                                       policy.authenticate(session.PendingUser(), session.PendingPassword()));
        } else if (step == SmtpStep::kDeliver) {
            session.DeliveryDone(
                policy.deliver ? policy.deliver(session.envelope(), session.message())
                               : base::MakeError(base::ErrorCode::kUnsupported, "no delivery configured"));
        } else {
            return step;
        }
    }
}

}  // namespace faxd::mail
