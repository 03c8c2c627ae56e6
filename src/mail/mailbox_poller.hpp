// The mailbox poller of the e-mail gateway (issue 7, StoneFax style): a dedicated POP3 or IMAP account is
// polled at an interval; every message in it is handed to a store callback (the gateway's intake queue) and
// removed from the server only once that callback says it is stored. libcurl speaks the protocols.
//
// Decisions:
// - At least once, never lost: a message is deleted (POP3 DELE) or flagged \Deleted (IMAP UID STORE) only
//   after StoreMessage succeeded, and a failed store leaves it for the next poll. A crash between storing
//   and deleting fetches the message again: the gateway drops duplicates by content hash. POP3 commits its
//   deletions only at QUIT (RFC 1939 §6), which the poller sends itself so that a refusal is reported; a
//   crash before QUIT undoes them, which again only means duplicates. IMAP ends every poll with EXPUNGE,
//   which also finishes a poll that died between STORE and EXPUNGE: the account is dedicated to faxd, so
//   every \Deleted message in the folder is one that faxd stored.
// - One poll is one connection. POP3 message numbers only hold within one session (RFC 1939 §5), and a
//   DELE sent on a silently reopened connection could hit another, unstored message. libcurl reconnects by
//   itself when a connection dropped, so once a command succeeded the poller refuses to open sockets: a lost
//   connection ends the poll with an error and the rest waits for the next one.
// - Order: oldest first (POP3 message numbers, IMAP UIDs ascending), at most max_messages_per_poll per poll.
// - POP3: UIDL, LIST (sizes), then RETR n, DELE n per message and QUIT. UIDL names messages across
//   sessions; a server without it (RFC 1939 makes it optional) is polled without.
// - IMAP: "UID SEARCH UNDELETED" in the folder, sizes by "UID FETCH <set> (RFC822.SIZE)", the message by
//   its URL (imap://host/INBOX/;UID=n, RFC 5092), then "UID STORE n +FLAGS.SILENT (\Deleted)". Messages
//   flagged \Deleted by anyone are not faxed.
// - Size: a message over max_message_bytes (by POP3 LIST or IMAP RFC822.SIZE) is not fetched and not
//   deleted - a mail is never dropped silently - and is reported in status().last_error and the log at
//   every poll until someone removes it. A server that sends more than it announced is cut off at the limit.
// - A store error skips that message (it stays on the server) and the poll goes on; PollOnce succeeds and
//   status() tells what was left behind. Any failed command ends the poll, because libcurl closes the
//   connection after one (and the poller opens no second): connect, TLS, login, folder, timeout, and also a
//   failed fetch. PollOnce then fails with a message that names the place:
//   "imap 127.0.0.1:10143: login failed: server said \"NO [AUTHENTICATIONFAILED] Authentication failed.\"".
//   A message whose fetch failed (IMAP UID, POP3 UIDL) is tried after the others in later polls, so one
//   the server cannot read holds up no other.
// - TLS: pop3s/imaps are TLS from the first byte; on the plain ports STARTTLS (RFC 2595) is used when the
//   server offers it (starttls) or required (require_tls: no TLS, no login). A login without TLS is logged
//   as a warning once. Certificates are checked against the system CAs or ca_file.
// - Timeouts: `timeout` bounds connecting with login, every command and every wait for the server; a
//   message fetch may take `timeout` plus 1 s per 64 KiB of its size.
// - Threads: Start() runs polls on a thread of its own (blocking libcurl calls, nothing else waits on it):
//   the first at once, then one `interval` after the end of the previous. Stop() interrupts the wait and a
//   transfer in progress within about a second, but lets a running StoreMessage finish. PollOnce may be
//   called from any thread; polls never overlap. The store callback must not call Stop().
// - Errors are logged when they start or change, not again at every interval.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/result.hpp"

namespace faxd::mail {

// kAuto takes the protocol from the port: 110 POP3, 995 POP3S, 143 IMAP, 993 IMAPS.
enum class MailboxProtocol { kAuto, kPop3, kPop3s, kImap, kImaps };

struct MailboxConfig {
    std::string name;  // for logs: "mailbox 'fax-in'"
    std::string host;
    std::uint16_t port = 0;  // 0: the protocol's standard port (protocol must then be set)
    MailboxProtocol protocol = MailboxProtocol::kAuto;
    std::string user;
    std::string password;
    std::string folder = "INBOX";  // IMAP only; as the server names it ("/" separates levels in the URL)
    bool starttls = true;          // plain ports: STARTTLS where offered
    bool require_tls = false;      // plain ports: STARTTLS or no login; always TLS for pop3s/imaps
    bool verify_certificate = true;
    std::filesystem::path ca_file;  // PEM; empty: the system's CAs
    // Between the end of one poll and the start of the next; at least 5 s (less is raised, with a warning).
    std::chrono::milliseconds interval{std::chrono::seconds{20}};
    bool allow_short_interval_for_tests = false;  // lifts the 5 s minimum
    std::size_t max_message_bytes = 32 * 1024 * 1024;
    std::size_t max_messages_per_poll = 100;
    std::chrono::milliseconds timeout{std::chrono::seconds{60}};
};

// Stores one fetched message durably (the gateway's intake queue): the bytes as the server sent them
// (POP3 dot-unstuffed), CRLF line ends. Only on success is the message deleted from the server.
using StoreMessage = std::function<base::Result<void>(const std::string& raw_message)>;

class MailboxPoller {
public:
    struct Status {
        std::chrono::system_clock::time_point last_poll{};     // end of the last poll; epoch: none yet
        std::chrono::system_clock::time_point last_success{};  // end of the last poll that did not fail
        std::string last_error;  // what went wrong in the last poll, or what it left behind; "" if nothing
        std::size_t stored_total = 0;    // messages stored (and deleted or flagged) since creation
        std::size_t left_on_server = 0;  // messages the last poll saw but left: oversized, store failed, ...
        bool encrypted = false;          // the last poll's connection used TLS
    };

    // Checks the configuration (host, user, protocol and port, limits, ca_file readable); connects only
    // when polling.
    static base::Result<std::unique_ptr<MailboxPoller>> Create(MailboxConfig config, StoreMessage store);
    ~MailboxPoller();  // stops
    MailboxPoller(const MailboxPoller&) = delete;
    MailboxPoller& operator=(const MailboxPoller&) = delete;

    // One poll now: the number of messages stored, or why the mailbox could not be read.
    base::Result<int> PollOnce();
    void Start();
    void Stop();  // returns once the polling thread has ended; Start() may follow
    Status status() const;

    const MailboxConfig& config() const { return config_; }  // as resolved: protocol, port, interval set

private:
    class Session;     // one connection: a libcurl easy handle and its callbacks' state
    struct Candidate;  // a message found in the mailbox

    MailboxPoller(MailboxConfig config, StoreMessage store);
    void Run();
    base::Result<int> PollPop3(Session& session, std::vector<std::string>& problems);
    base::Result<int> PollImap(Session& session, std::vector<std::string>& problems);
    // Fetches, stores and deletes (POP3) or flags (IMAP) the candidates; the number stored.
    base::Result<int> Take(Session& session, std::vector<Candidate> candidates,
                           std::vector<std::string>& problems);
    void Record(const base::Result<int>& result, const std::vector<std::string>& problems, bool encrypted);

    MailboxConfig config_;
    StoreMessage store_;
    base::RealClock clock_;
    base::Logger log_;
    std::string place_;  // "imap 127.0.0.1:10143": the start of every error message

    std::mutex poll_mutex_;  // one poll at a time
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_requested_ = false;
    std::atomic<bool> abort_transfers_{false};
    std::thread thread_;
    Status status_;
    bool warned_plaintext_ = false;
    std::set<std::string> failed_fetches_;  // Candidate keys whose fetch failed; under poll_mutex_
};

// The protocol a config means, or why it is unclear (kAuto on a port that names none).
base::Result<MailboxProtocol> ResolveMailboxProtocol(MailboxProtocol protocol, std::uint16_t port);
std::uint16_t DefaultMailboxPort(MailboxProtocol protocol);      // 0 for kAuto
std::string_view MailboxProtocolName(MailboxProtocol protocol);  // "pop3", "pop3s", "imap", "imaps", "auto"

// Parsers of the server's answers as libcurl hands them over, exposed for the unit tests.
struct MailboxEntry {
    std::uint32_t id = 0;    // POP3 message number or IMAP UID
    std::uint64_t size = 0;  // octets as the server counts them
};
base::Result<std::vector<MailboxEntry>> ParsePop3List(std::string_view answer);             // "1 120\r\n..."
base::Result<std::map<std::uint32_t, std::string>> ParsePop3Uidl(std::string_view answer);  // "1 a7f3\r\n"
base::Result<std::vector<std::uint32_t>> ParseImapSearch(std::string_view answer);          // "* SEARCH 3 4"
base::Result<std::map<std::uint32_t, std::uint64_t>> ParseImapSizes(std::string_view answer);  // FETCH
std::string FormatImapUidSet(const std::vector<std::uint32_t>& sorted_uids);                   // "1:3,7,9:10"

}  // namespace faxd::mail
