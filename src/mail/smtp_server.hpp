// The SMTP listener: accepts TCP connections (Boost.Asio), runs one SmtpSession per connection and moves its
// bytes, with STARTTLS or implicit TLS (asio::ssl), per-wait timeouts and a connection limit.
//
// Decisions:
// - A few io threads serve every connection; each connection lives on its own strand, so its session needs
//   no locks.
// - policy.authenticate and policy.deliver may block (password hashing, fsync), so they run on a small
//   thread pool (delivery_threads) and report back to the connection's strand; the io threads keep serving
//   other connections meanwhile. A connection has at most one such call in flight, so the pool's queue is
//   bounded by max_connections.
// - Timeouts are per wait (RFC 5321 §4.5.3.2): the session's command or data timeout for each read, the
//   command timeout for each write and for the TLS handshake. On expiry the client gets 421 4.4.2.
// - Over max_connections a new connection gets "421 4.7.0" and is closed (clients retry later); with
//   implicit TLS it is closed without a word, as plaintext would only confuse the TLS client.
// - Stop closes the listener and every connection, then waits for deliveries in progress: a message being
//   stored is finished rather than cut off (its client, cut off, retries; the queue may then hold it twice,
//   which the owner's Deliver may detect by Message-ID).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "mail/smtp_session.hpp"

namespace faxd::mail {

struct SmtpServerConfig {
    std::string address = "127.0.0.1";
    std::uint16_t port = 25;  // 0: any free port (see SmtpServer::port())
    int io_threads = 2;
    int delivery_threads = 4;  // runs policy.authenticate and policy.deliver
    int max_connections = 100;
    // TLS when both are set (PEM files): STARTTLS is offered, or with implicit_tls the whole connection is
    // TLS from the first byte (RFC 8314 "submissions", port 465).
    std::filesystem::path tls_certificate;
    std::filesystem::path tls_private_key;
    bool implicit_tls = false;
    SmtpSessionConfig session;
};

class SmtpServer {
public:
    // Binds and starts serving. `policy` is copied; its callbacks must stay valid until Stop() returns.
    static base::Result<std::unique_ptr<SmtpServer>> Start(const SmtpServerConfig& config, SmtpPolicy policy);
    virtual ~SmtpServer() = default;
    virtual std::uint16_t port() const = 0;  // the bound port
    virtual void Stop() = 0;                 // idempotent; the destructor calls it
};

}  // namespace faxd::mail
