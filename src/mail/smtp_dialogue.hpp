// The SMTP dialogue of one outbox attempt as libcurl reports it (its debug callback), and what the
// relay's replies mean for each recipient: delivered, refused for good, or to retry. Internal to the outbox.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faxd::mail {

inline constexpr std::size_t kMaxReplyText = 400;

// One SMTP reply: its code and its text (the lines of a multi-line reply joined by blanks).
struct Reply {
    int code = 0;
    std::string text;  // "550 5.1.1 no such user"
};

// Follows the SMTP dialogue libcurl reports through its debug callback (commands out, reply lines in;
// libcurl sends one command at a time), so each reply is known with the command it answers. Keeps no
// command arguments except RCPT order: AUTH lines carry credentials.
class SmtpDialogue {
public:
    void Sent(std::string_view data) {
        ForEachLine(data, out_partial_, [this](std::string_view line) { Command(line); });
    }
    void Received(std::string_view data) {
        ForEachLine(data, in_partial_, [this](std::string_view line) { ReplyLine(line); });
    }

    std::optional<Reply> mail;          // to MAIL FROM
    std::vector<Reply> rcpt;            // to each RCPT TO, in order
    std::optional<Reply> data;          // to DATA (354 when it went on)
    std::optional<Reply> message;       // to the end of the message
    std::optional<Reply> last;          // the last complete reply
    std::string last_step = "connect";  // what `last` answered

private:
    enum class Step { kGreeting, kHello, kStartTls, kAuth, kMail, kRcpt, kData, kMessage, kOther };

    template <typename OnLine>
    static void ForEachLine(std::string_view data, std::string& partial, OnLine&& on_line) {
        partial.append(data);
        std::size_t start = 0;
        for (std::size_t end; (end = partial.find('\n', start)) != std::string::npos; start = end + 1) {
            std::string_view line(partial.data() + start, end - start);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            on_line(line);
        }
        partial.erase(0, start);
    }

    void Command(std::string_view line) {
        std::string verb(line.substr(0, line.find(' ')));
        for (char& c : verb) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
        if (step_ == Step::kAuth && auth_continues_) return;  // a credential line, not a command
        if (verb == "EHLO" || verb == "HELO") {
            step_ = Step::kHello;
        } else if (verb == "STARTTLS") {
            step_ = Step::kStartTls;
        } else if (verb == "AUTH") {
            step_ = Step::kAuth;
        } else if (verb == "MAIL") {
            step_ = Step::kMail;
        } else if (verb == "RCPT") {
            step_ = Step::kRcpt;
        } else if (verb == "DATA") {
            step_ = Step::kData;
        } else {
            step_ = Step::kOther;
        }
        step_name_ = step_ == Step::kMail ? "MAIL FROM" : step_ == Step::kRcpt ? "RCPT TO" : verb;
    }

    void ReplyLine(std::string_view line) {
        if (line.size() < 3) return;
        if (!reply_text_.empty()) reply_text_ += ' ';
        reply_text_ += line.size() > 4 ? line.substr(4) : std::string_view();
        if (line.size() > 3 && line[3] == '-') return;  // more lines follow
        Reply reply;
        reply.code = std::atoi(std::string(line.substr(0, 3)).c_str());
        reply.text = std::string(line.substr(0, 3)) + " " + reply_text_;
        if (reply.text.size() > kMaxReplyText) reply.text.resize(kMaxReplyText);
        reply_text_.clear();
        last = reply;
        last_step = step_ == Step::kGreeting  ? "greeting"
                    : step_ == Step::kMessage ? "end of data"
                                              : step_name_;
        switch (step_) {
            case Step::kMail:
                mail = reply;
                break;
            case Step::kRcpt:
                rcpt.push_back(reply);
                break;
            case Step::kData:
                data = reply;
                if (reply.code == 354) step_ = Step::kMessage;
                break;
            case Step::kMessage:
                message = reply;
                step_ = Step::kOther;
                break;
            case Step::kAuth:
                auth_continues_ = reply.code == 334;
                break;
            default:
                break;
        }
    }

    Step step_ = Step::kGreeting;
    std::string step_name_;
    bool auth_continues_ = false;
    std::string reply_text_;
    std::string in_partial_;
    std::string out_partial_;
};

namespace detail {
// What one attempt means for each recipient and for the relay.
struct SendOutcome {
    std::vector<std::string> delivered;
    std::vector<std::pair<std::string, std::string>> refused;  // recipient, reason: permanent
    std::vector<std::string> retry;                            // temporary
    bool relay_problem = false;                                // the relay, not this mail: outage handling
    bool relay_reached = false;  // the relay took MAIL FROM (or refused it for good)
    std::string error;           // the problems, for logs and last_error; empty when all went
};
}  // namespace detail

bool Permanent(const Reply& reply);
bool RelayLevel(const Reply& reply);
// The outcome of one attempt to the relay for `recipients`.
detail::SendOutcome Classify(const SmtpDialogue& dialogue, bool transfer_ok,
                             const std::string& transport_error, const std::vector<std::string>& recipients);
// CURLOPT_DEBUGFUNCTION: feeds the SmtpDialogue passed as CURLOPT_DEBUGDATA.
int SmtpDebugCallback(CURL*, curl_infotype type, char* data, size_t size, void* dialogue);

}  // namespace faxd::mail
