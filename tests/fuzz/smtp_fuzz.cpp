// libFuzzer target for the SMTP state machine (src/mail/smtp_session): a client controls every byte.
//
// The first input byte picks the limits, the TLS situation and how the rest is cut into reads. The rest is
// fed twice: in one read and in those pieces. Both runs must answer the same (unless STARTTLS was accepted:
// what is thrown away then depends on what had arrived) and deliver the same messages. Every reply line must
// be well formed, and a delivered message must start with our Received: header and respect the size limit.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "mail/smtp_session.hpp"

namespace {

using faxd::mail::RunSmtpSession;
using faxd::mail::SmtpEnvelope;
using faxd::mail::SmtpPolicy;
using faxd::mail::SmtpSession;
using faxd::mail::SmtpSessionConfig;
using faxd::mail::SmtpStep;
using faxd::mail::SmtpVerdict;

constexpr std::size_t kMaxReceivedHeader = 2048;

void Check(bool condition) {
    if (!condition) std::abort();
}

struct Transcript {
    std::string output;
    std::vector<std::string> messages;
    bool started_tls = false;
};

void CheckReplies(std::string_view output) {
    while (!output.empty()) {
        const std::size_t end = output.find("\r\n");
        Check(end != std::string_view::npos);
        const std::string_view line = output.substr(0, end);
        Check(line.size() >= 3 && line.size() <= 1024);
        Check(line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' && line[2] >= '0' &&
              line[2] <= '9');
        Check(line.size() == 3 || line[3] == ' ' || line[3] == '-');
        for (const char c : line) Check(c != '\r' && c != '\n');
        output.remove_prefix(end + 2);
    }
}

Transcript Drive(std::string_view input, std::uint8_t knobs, bool split) {
    SmtpSessionConfig config;
    config.hostname = "fax.test";
    config.max_message_bytes = (knobs & 1) ? 300 : 5000;
    config.max_recipients = 3;
    config.max_command_line_bytes = 512;
    config.max_data_line_bytes = 1000;
    config.max_bad_commands = (knobs & 2) ? 3 : 50;
    config.allow_auth_without_tls = (knobs & 4) != 0;
    config.require_auth = (knobs & 8) != 0;
    config.accept_bare_newlines = (knobs & 16) != 0;

    Transcript transcript;
    SmtpPolicy policy;
    policy.check_recipient = [](const std::string& address) {
        return address.find('x') != std::string::npos ? SmtpVerdict::Reject("550 5.1.1 <" + address + ">: no")
                                                      : SmtpVerdict::Accept();
    };
    policy.check_sender = [](const std::string& address) {
        return address == "spam@x" ? SmtpVerdict::Reject("554 go away") : SmtpVerdict::Accept();
    };
    policy.authenticate = [](const std::string& user, const std::string& password) {
        return user == "u" && password == "p";
    };
    policy.deliver = [&](const SmtpEnvelope& envelope,
                         const std::string& message) -> faxd::base::Result<std::string> {
        Check(!envelope.rcpt_to.empty() && envelope.rcpt_to.size() <= config.max_recipients);
        Check(message.rfind("Received: from ", 0) == 0);
        Check(message.size() <= config.max_message_bytes + kMaxReceivedHeader);
        if (message.size() % 7 == 0) return faxd::base::MakeError(faxd::base::ErrorCode::kIo, "odd failure");
        transcript.messages.push_back(message);
        return std::to_string(transcript.messages.size());
    };

    const faxd::base::SimulatedClock clock;
    SmtpSession session(config, policy, clock,
                        SmtpSession::Connection{"192.0.2.1", (knobs & 32) != 0, (knobs & 64) != 0});
    session.Start();
    std::uint32_t random = knobs * 2654435761u + 1;
    std::size_t pos = 0;
    SmtpStep step = RunSmtpSession(session, policy);
    while (pos < input.size() && step != SmtpStep::kClose) {
        random = random * 1103515245u + 12345u;
        const std::size_t piece = split ? 1 + (random >> 16) % 64 : input.size();
        session.Receive(input.substr(pos, piece));
        pos += std::min(piece, input.size() - pos);
        step = RunSmtpSession(session, policy);
        if (step == SmtpStep::kStartTls) {
            transcript.started_tls = true;
            session.TlsStarted();
            step = RunSmtpSession(session, policy);
        }
    }
    if (step != SmtpStep::kClose && (knobs & 128)) {
        session.OnTimeout();
        Check(RunSmtpSession(session, policy) == SmtpStep::kClose);
    }
    transcript.output = session.TakeOutput();
    CheckReplies(transcript.output);
    return transcript;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const Transcript whole = Drive(input, data[0], false);
    const Transcript pieces = Drive(input, data[0], true);
    if (!whole.started_tls && !pieces.started_tls) {
        Check(whole.output == pieces.output);
        Check(whole.messages == pieces.messages);
    }
    return 0;
}
