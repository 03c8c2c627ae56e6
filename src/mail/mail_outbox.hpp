// The durable outbound mail queue of the e-mail gateway (issue 7): receipts, received faxes, refusal
// replies and admin alerts wait here, on disk, until the company's SMTP relay has taken them. One sender
// thread hands them over with libcurl's SMTP client (STARTTLS or implicit TLS, AUTH, certificate checks).
//
// On disk, under OutboxConfig::directory:
//   queue/<id>.eml   the message as it goes after DATA (CRLF line ends)
//   queue/<id>.json  envelope and retry state: sender, recipients still to do, recipients done, created,
//                    attempts, next attempt, last error; rewritten atomically after every attempt, so a
//                    restart keeps the backoff
//   failed/<id>.eml, failed/<id>.json   what was given up, with the refused recipients and the reasons
//   lock             flock()ed while open: one outbox per directory (two senders would send twice)
// A message is queued exactly when both queue files exist: Enqueue writes the .eml, then the .json (each
// temp file + fsync + rename + fsync of the directory), and Open removes a lone file of either kind (an
// enqueue that did not return, or a removal that did not finish) and leftover temp files. The .json that
// cannot be read (never seen: it is written atomically) moves the message to failed/ instead.
//
// Decisions:
// - Ids are "<creation time in ms, 14 digits>-<8 random hex digits>", so directory order and queue order
//   are both oldest first; the oldest due message goes first. Only the queue's envelopes are in memory;
//   a message's bytes are read from its file while it is sent.
// - Permanent (5xx from the relay, RFC 5321 §4.2.1): a refused recipient (RCPT 5xx) is given up, the
//   others go on; a refused sender (MAIL 5xx) or message (5xx after DATA) gives up every recipient of the
//   attempt. Given up means: recorded in failed/ (the message is kept there; when some recipients are still
//   being retried it is hard-linked, and failed/<id>.json collects every refused recipient), counted in
//   Stats::failed, and OutboxEvents::given_up is called once per attempt that gave up recipients. Nothing
//   is retried forever: a message still queued give_up_after its creation is given up after its next failed
//   attempt, or, while the relay is unreachable, after the next failed probe (see Outage).
// - Temporary: 4xx for a recipient (that recipient is retried) or for the message; and every failure that
//   is about the relay rather than the mail: no connection, TLS (also a certificate that does not verify),
//   greeting, EHLO, STARTTLS not offered, AUTH refused, 530 "authentication required" (a configuration
//   problem, not the mail's), 421 anywhere, 4xx to MAIL FROM (the relay would refuse any mail alike), a
//   timeout or a dropped connection. Retries follow `backoff` per message (the last entry repeats),
//   counted from the end of the attempt.
// - Partial acceptance uses libcurl's CURLOPT_MAIL_RCPT_ALLLOWFAILS (sic; libcurl 7.69-8.1, renamed
//   ..._ALLOWFAILS in 8.2): the message goes to the accepted recipients, the refused ones are given up or
//   retried as above. Which recipient got which answer is read from the SMTP dialogue (libcurl's debug
//   callback; credentials are never kept or logged).
// - Outage: the first relay-level failure calls relay_unreachable once and switches to probing: until the
//   relay answers again, one message at a time is tried, at the backoff of the outage (not one connection
//   per queued message). relay_back is called when the relay next accepts a transaction (MAIL FROM taken),
//   and the queue then goes at full speed again. The outage state is not stored: after a restart a new
//   outage is reported again.
// - At least once: a crash (or Stop) after the relay's 250 to the message but before queue/<id>.* are
//   removed sends that message again after the restart, as does a connection lost while waiting for that
//   250. Mail readers show the duplicate; the Message-ID is the same.
// - Each message gets its own connection (CURLOPT_FORBID_REUSE): a relay's state after a failed
//   transaction is then never carried into the next one. Costs a TCP (+TLS, +AUTH) set-up per mail, a few
//   ms on a LAN; mail volume is per fax, not per page. libcurl waits for the reply to QUIT while it closes
//   the connection, blocking the sender thread for at most `timeout` with a relay that never answers it;
//   Stop() cuts that short by shutting the sockets down.
// - `timeout` bounds connecting, each wait for a relay reply and any stall of the transfer; a large
//   message on a slow link may take longer as long as it moves.
// - Enqueue turns bare LF and CR into CRLF and ends the message with CRLF (SMTP DATA has no other line
//   ends); libcurl does the dot-stuffing. An empty envelope sender is the null reverse-path MAIL FROM:<>
//   (RFC 3834 §4 for auto-replies; bounces of it go nowhere). Addresses are ASCII: libcurl 7.88 has no
//   SMTPUTF8, so a relay without it refuses non-ASCII ones (5xx: given up).
// - AUTH over a connection without TLS sends the password in the clear: Open logs a warning for it
//   unless the relay is on the loopback interface.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/result.hpp"

namespace faxd::mail {

namespace detail {
struct SendOutcome;  // what an attempt means for each recipient and for the relay (mail_outbox.cpp)
struct SocketSet;    // the relay connections' sockets, so Stop() can cut them off (mail_outbox.cpp)
}  // namespace detail

struct SmtpRelay {
    enum class Tls {
        kNone,      // plain SMTP, even when the relay offers STARTTLS
        kStartTls,  // STARTTLS required: a relay that does not offer it is a (temporary) failure
        kImplicit,  // TLS from the first byte (smtps, RFC 8314 port 465)
    };
    std::string host = "127.0.0.1";
    std::uint16_t port = 25;
    Tls tls = Tls::kNone;
    std::string user;  // AUTH when set (the mechanisms libcurl and the relay share: PLAIN, LOGIN, ...)
    std::string password;
    bool verify_certificate = true;  // chain and host name
    std::filesystem::path ca_file;   // PEM; empty: the system's CAs
    std::chrono::seconds timeout{60};
    std::string helo_name;  // EHLO argument; empty: this machine's host name
};

struct OutboxConfig {
    std::filesystem::path directory;
    SmtpRelay relay;
    // Wait after the n-th failed attempt of a message (and of the relay during an outage); the last
    // entry repeats.
    std::vector<std::chrono::milliseconds> backoff{
        std::chrono::seconds{30}, std::chrono::minutes{1},  std::chrono::minutes{2}, std::chrono::minutes{5},
        std::chrono::minutes{10}, std::chrono::minutes{30}, std::chrono::hours{1}};
    std::chrono::milliseconds give_up_after = std::chrono::hours{120};
    std::size_t max_parallel = 2;  // connections to the relay at once
};

// Called on the sender thread, never with the outbox's lock held: they may call Enqueue, Stats, Wake, but
// not Stop (which waits for that thread).
struct OutboxEvents {
    std::function<void(const std::string& error)> relay_unreachable;  // once per outage
    std::function<void()> relay_back;
    // Some or all recipients of message `id` given up; `error` names them and the relay's answers.
    std::function<void(const std::string& id, const std::string& error)> given_up;
    // Message `id` left the queue after the relay took it for at least one recipient.
    std::function<void(const std::string& id)> sent;
};

class MailOutbox {
public:
    struct Stats {
        std::size_t queued = 0;  // in queue/, in flight included
        std::size_t sent = 0;    // since Open
        std::size_t failed = 0;  // give-ups since Open (a message, or some of its recipients)
        std::string last_error;  // of the last failed attempt
        std::optional<base::WallTime> oldest_queued;  // creation time of the oldest queued message
        bool relay_down = false;                      // between relay_unreachable and relay_back
    };

    // Creates the directory if needed, takes its lock and recovers what is queued there. Nothing is sent
    // before Start(). The clock (monotonic time unused; wall time for the stored times) must outlive the
    // outbox; without one the outbox uses its own RealClock.
    static base::Result<std::unique_ptr<MailOutbox>> Open(OutboxConfig config, OutboxEvents events = {});
    static base::Result<std::unique_ptr<MailOutbox>> Open(OutboxConfig config, OutboxEvents events,
                                                          const base::Clock& clock);
    ~MailOutbox();  // stops
    MailOutbox(const MailOutbox&) = delete;
    MailOutbox& operator=(const MailOutbox&) = delete;

    // Durable before it returns; the queue id. Thread-safe. kInvalidArgument for no recipients, an address
    // with blanks, controls or <>, an empty message.
    base::Result<std::string> Enqueue(const std::string& envelope_from,
                                      const std::vector<std::string>& recipients, const std::string& message);

    void Start();
    // Returns once the sender thread has ended, at once: transfers in flight are cut off (their sockets
    // shut down, also when libcurl blocks in a QUIT) and sent again later.
    void Stop();
    // Tries every queued message now, backoff or outage notwithstanding (after a configuration change, or
    // when an operator says the relay is back).
    void Wake();
    // A new relay for the next attempts (and Wake()).
    void SetRelay(SmtpRelay relay);

    Stats stats() const;

private:
    // A queued message as the sender thread sees it; the bytes stay in queue/<id>.eml.
    struct Entry {
        std::string id;
        std::string envelope_from;
        std::vector<std::string> recipients;  // still to do
        std::vector<std::string> delivered;   // taken by the relay in earlier attempts
        base::WallTime created{};
        int attempts = 0;
        base::WallTime next_attempt{};
        std::string last_error;
        bool in_flight = false;
    };
    struct Attempt;
    class Transfers;

    MailOutbox(OutboxConfig config, OutboxEvents events, const base::Clock* clock);
    base::Result<void> Recover();
    void Run();
    void StartDue(Transfers& transfers);
    void Finish(Attempt& attempt, int curl_code);
    // Records the outcome of an attempt on disk and in memory and tells the events.
    void Settle(const std::string& id, const detail::SendOutcome& outcome);
    // During an outage: gives up the messages older than give_up_after.
    void GiveUpOld(base::WallTime now, const std::string& error);
    // Writes failed/<id>.json (merged with what is there) and links or moves the message beside it.
    base::Result<void> RecordFailure(const Entry& entry,
                                     const std::vector<std::pair<std::string, std::string>>& refused,
                                     bool message_done, base::WallTime now);
    base::Result<void> RemoveQueued(const std::string& id);
    std::filesystem::path QueuePath(const std::string& id, const char* extension) const;
    std::filesystem::path FailedPath(const std::string& id, const char* extension) const;
    std::chrono::milliseconds Backoff(int failures) const;
    void Poke();

    const OutboxConfig config_;
    const OutboxEvents events_;
    base::RealClock own_clock_;
    const base::Clock& clock_;
    base::Logger log_;
    int lock_fd_ = -1;

    mutable std::mutex mutex_;
    SmtpRelay relay_;
    std::map<std::string, Entry> queue_;  // by id: oldest first
    Stats counters_;                      // sent, failed, last_error, relay_down
    int relay_failures_ = 0;
    base::WallTime relay_retry_at_{};
    bool stopping_ = false;
    bool woken_ = false;             // something new: look for due messages
    bool wake_all_ = false;          // Wake(): everything is due
    void* wakeup_handle_ = nullptr;  // the CURLM* of the running sender, for curl_multi_wakeup
    std::unique_ptr<detail::SocketSet> sockets_;
    std::thread worker_;
};

}  // namespace faxd::mail
