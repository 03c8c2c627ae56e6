// The server side of one SMTP conversation (RFC 5321) as a pure state machine: bytes in, reply text out. No
// sockets, no threads, no clock of its own (the Received: date comes from an injected base::Clock), so unit
// tests and the fuzzer drive it directly and smtp_server.cpp only moves bytes.
//
// Decisions:
// - Extensions: PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), ENHANCEDSTATUSCODES (RFC 2034,
//   used in every reply after the greeting), STARTTLS (RFC 3207) when TLS is available and not yet active,
//   AUTH PLAIN LOGIN (RFC 4954) when an authenticate callback is set and TLS is active (or
//   allow_auth_without_tls). No CHUNKING, no SMTPUTF8, no DSN.
// - Line ends: a command line ends at LF (a CR before it is dropped), which is lenient and harmless. In DATA
//   only CRLF ends a line and only CRLF.CRLF ends the message, so "\n.\n" or "\r.\r" never do (the SMTP
//   smuggling defence). A message holding a bare CR or LF is refused with 550 5.6.0 after its end unless
//   accept_bare_newlines: faxd never relays it, but a sender that emits them is broken or probing.
// - STARTTLS: after "220 2.0.0" everything already received is thrown away (commands pipelined in plaintext
//   must not run inside TLS: CVE-2011-0411 style injection), and after the handshake the session starts
//   over as if freshly connected, without a greeting (RFC 3207 §4.2).
// - Blocking callbacks (authenticate, deliver) are not called here: Process() stops with kAuthenticate or
//   kDeliver and the driver calls them wherever it likes (the server uses a thread pool), then reports the
//   outcome. Cheap, non-blocking checks (check_recipient, check_sender) are called inline.
// - "250 queued" is sent only after deliver succeeded (the message is durable); if deliver fails the client
//   gets 451 4.3.0 and retries, so nothing is lost.
// - The message is held in memory up to max_message_bytes (25 MiB); the server's max_connections bounds
//   the total. Bytes over the limit are read and dropped, then the message is refused with 552 5.3.4.
// - Bad commands (500, 501, 502, 503, 504, 535, over-long lines) count; at max_bad_commands the session says
//   421 and closes. Rejected recipients do not count: a mail to a few wrong numbers is not an attack.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace faxd::mail {

struct SmtpSessionConfig {
    std::string hostname = "localhost";  // in the greeting, the EHLO reply and the Received: header
    std::size_t max_message_bytes = 25 * 1024 * 1024;  // after dot-unstuffing, without our Received: header
    std::size_t max_recipients = 100;                  // more get 452 4.5.3 (RFC 5321 §4.5.3.1.10)
    // Whole line with CRLF. RFC 5321 §4.5.3.1.4 allows 512 for commands; extensions (SIZE, AUTH=) need more.
    std::size_t max_command_line_bytes = 1000;
    // RFC 5322 §2.1.1 asks senders for 1000; real senders exceed it, and refusing would lose a fax, so the
    // default only guards against absurd lines (the message size bounds memory anyway).
    std::size_t max_data_line_bytes = 64 * 1024;
    int max_bad_commands = 10;
    // Waiting for a command (RFC 5321 §4.5.3.2.7 asks at least 5 minutes) and for more DATA bytes. The
    // session only reports which applies (CurrentTimeout); the driver runs the timer.
    std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
    std::chrono::milliseconds data_timeout{std::chrono::minutes(5)};
    bool allow_auth_without_tls = false;  // AUTH on a plaintext connection (only for trusted networks)
    bool require_auth = false;            // MAIL gets 530 5.7.0 until AUTH succeeded
    bool accept_bare_newlines = false;    // see above: keep them in the message instead of refusing it
};

// A policy answer. `reply` is the whole reply for a refusal, e.g. "550 5.1.1 <x@other.com>: not a fax
// domain"; it must start with a 4xx or 5xx code (anything else is sent as 550 with the text).
struct SmtpVerdict {
    bool accepted = true;
    std::string reply;

    static SmtpVerdict Accept() { return {}; }
    static SmtpVerdict Reject(std::string reply) { return {false, std::move(reply)}; }
};

struct SmtpEnvelope {
    std::string helo;                  // the EHLO/HELO argument as sent
    std::string mail_from;             // without <>; "" for the null sender (bounces)
    std::vector<std::string> rcpt_to;  // accepted recipients only, without <>, in order
    std::string remote_address;        // "127.0.0.1"
    bool tls = false;
    std::string authenticated_user;  // "" when not authenticated
};

// Given by the owner of the listener. check_recipient is required; the others are optional (without
// authenticate no AUTH is offered; without deliver every message gets 451).
struct SmtpPolicy {
    // Called on the io thread at RCPT time with the address without <>: must not block.
    std::function<SmtpVerdict(const std::string& address)> check_recipient;
    // Called on the io thread at MAIL time ("" for the null sender): must not block.
    std::function<SmtpVerdict(const std::string& address)> check_sender;
    // May block (password hashing).
    std::function<bool(const std::string& user, const std::string& password)> authenticate;
    // Stores the message durably and returns its queue id. May block. The message starts with our
    // Received: header and is otherwise byte for byte what the client sent, dot-unstuffed, CRLF line ends.
    std::function<base::Result<std::string>(const SmtpEnvelope& envelope, const std::string& message)>
        deliver;
};

// What the driver must do before calling Process() again.
enum class SmtpStep {
    kNeedInput,     // send TakeOutput(), then Receive() more bytes
    kStartTls,      // send TakeOutput() ("220 2.0.0 ..."), do the TLS handshake, then TlsStarted()
    kAuthenticate,  // call policy.authenticate(PendingUser(), PendingPassword()), then AuthenticationDone()
    kDeliver,       // call policy.deliver(envelope(), message()), then DeliveryDone()
    kClose,         // send TakeOutput(), then close the connection
};

class SmtpSession {
public:
    struct Connection {
        std::string remote_address;  // "127.0.0.1", for Received: and the envelope
        bool tls_available = false;  // the server has a certificate: STARTTLS is offered
        bool tls_active = false;     // implicit TLS (port 465): already encrypted
    };

    // `config`, `policy` and `clock` must outlive the session.
    SmtpSession(const SmtpSessionConfig& config, const SmtpPolicy& policy, const base::Clock& clock,
                Connection connection);

    // Queues the 220 greeting.
    void Start();

    void Receive(std::string_view bytes);
    SmtpStep Process();
    // Reply text produced so far, to be sent in order. Empty when there is nothing.
    std::string TakeOutput();

    // After kStartTls: the handshake succeeded. (If it failed, the driver just closes.)
    void TlsStarted();
    // After kAuthenticate.
    const std::string& PendingUser() const { return pending_user_; }
    const std::string& PendingPassword() const { return pending_password_; }
    void AuthenticationDone(bool accepted);
    // After kDeliver.
    const SmtpEnvelope& envelope() const { return envelope_; }
    const std::string& message() const { return message_; }
    void DeliveryDone(const base::Result<std::string>& queue_id);

    // The driver's timer for the current wait ran out: queues 421 4.4.2 and closes.
    void OnTimeout();
    std::chrono::milliseconds CurrentTimeout() const;

    bool closed() const { return state_ == State::kClosed; }
    bool tls_active() const { return connection_.tls_active; }

private:
    enum class State {
        kCommand,
        kAuthPlainResponse,  // after "334 " for AUTH PLAIN without an initial response
        kAuthLoginUser,
        kAuthLoginPassword,
        kData,
        kStartTlsPending,
        kAuthPending,
        kDeliverPending,
        kClosed,
    };

    std::optional<std::string> NextCommandLine();
    bool ProcessData();  // false: needs more input
    void AppendDataBytes(std::string_view bytes);
    void EndOfData();

    void HandleCommand(std::string_view line);
    void HandleAuthResponse(std::string_view line);
    void OnEhlo(std::string_view argument, bool extended);
    void OnMail(std::string_view argument);
    void OnRcpt(std::string_view argument);
    void OnData(std::string_view argument);
    void OnStartTls(std::string_view argument);
    void OnAuth(std::string_view argument);
    void StartAuthPlain(std::string_view response);
    void StartAuthLoginPassword(std::string_view response);

    bool AuthOffered() const;
    void ResetTransaction();
    void Reply(std::string_view text);
    void PolicyReply(const SmtpVerdict& verdict);
    // Replies with a counted error; at max_bad_commands also says 421 and closes.
    void BadCommand(std::string_view text);
    void Close(std::string_view text);
    std::string ReceivedHeader() const;

    const SmtpSessionConfig& config_;
    const SmtpPolicy& policy_;
    const base::Clock& clock_;
    Connection connection_;

    State state_ = State::kCommand;
    std::string input_;
    std::size_t input_pos_ = 0;
    std::string output_;
    int bad_commands_ = 0;
    bool discarding_long_line_ = false;

    std::string helo_;
    bool extended_ = false;  // EHLO rather than HELO
    std::string authenticated_user_;
    std::string pending_user_;
    std::string pending_password_;

    bool in_transaction_ = false;  // MAIL accepted
    SmtpEnvelope envelope_;
    std::string message_;
    std::size_t body_bytes_ = 0;
    bool data_mid_line_ = false;  // part of an over-long line was already taken
    bool data_too_large_ = false;
    bool data_line_too_long_ = false;
    bool data_bare_newline_ = false;
};

// Drives a session to its next kNeedInput, kStartTls or kClose, calling authenticate and deliver inline.
// For tests and the fuzzer; the server runs those callbacks off its io threads.
SmtpStep RunSmtpSession(SmtpSession& session, const SmtpPolicy& policy);

}  // namespace faxd::mail
