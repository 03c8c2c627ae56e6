// The SMTP listener on Boost.Asio; see smtp_server.hpp for the decisions. Each connection is a small driver
// around an SmtpSession: Pump() asks the session what to do next and does it (read, write, TLS handshake,
// authenticate or deliver on the pool, close).
#include "mail/smtp_server.hpp"

// Boost 1.74's Asio needs <utility> before it with GCC 12 in C++20 mode (DESIGN.md).
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/log.hpp"

namespace faxd::mail {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// How long a closing connection may take (421 after a timeout, TLS close_notify, draining the peer's bytes).
constexpr std::chrono::seconds kCloseGrace{2};
constexpr std::chrono::seconds kStopGrace{2};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::size_t kReadChunk = 16 * 1024;

class Connection;

// What every connection of one server shares; connections hold it by shared_ptr, so it outlives the last of
// them however the server is torn down.
struct ServerState {
    SmtpServerConfig config;
    SmtpPolicy policy;
    ssl::context tls{ssl::context::tls_server};
    bool tls_configured = false;
    base::RealClock clock;
    base::Logger log;

    bool Register(const std::shared_ptr<Connection>& connection);
    void Unregister(Connection* connection);
    void AbortAll(std::chrono::milliseconds grace);

private:
    std::mutex mutex_;
    std::condition_variable connections_ended_;
    bool stopping_ = false;
    std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
};

class Connection final : public std::enable_shared_from_this<Connection> {
public:
    Connection(std::shared_ptr<ServerState> state, tcp::socket socket, std::string remote_address,
               net::thread_pool::executor_type pool)
        : state_(std::move(state)),
          stream_(std::move(socket), state_->tls),
          timer_(stream_.get_executor()),
          pool_(pool),
          session_(
              state_->config.session, state_->policy, state_->clock,
              SmtpSession::Connection{remote_address, state_->tls_configured && !state_->config.implicit_tls,
                                      state_->config.implicit_tls}),
          remote_address_(std::move(remote_address)) {}

    ~Connection() { state_->Unregister(this); }

    void Start() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Begin(); });
    }

    // Over the connection limit: say so (in plaintext only) and close.
    void Refuse() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            if (self->state_->config.implicit_tls) return self->CloseNow();
            self->write_buffer_ = "421 4.7.0 " + self->state_->config.session.hostname +
                                  " Too many connections, try again later\r\n";
            self->Arm(kCloseGrace);
            net::async_write(self->stream_.next_layer(), net::buffer(self->write_buffer_),
                             [self](error_code, std::size_t) { self->LingeringClose(); });
        });
    }

    // Any thread (server stop).
    void Abort() {
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseNow(); });
    }

private:
    void Begin() {
        if (!state_->config.implicit_tls) {
            session_.Start();
            return Pump();
        }
        Handshake([this] {
            session_.Start();
            Pump();
        });
    }

    void Pump() {
        if (closed_) return;
        SmtpStep step;
        try {
            step = session_.Process();
        } catch (const std::exception& error) {  // a policy callback threw: a bug, but keep the server up
            state_->log->error("smtp: {}: session failed: {}", remote_address_, error.what());
            return CloseNow();
        }
        switch (step) {
            case SmtpStep::kNeedInput:
                return Write([this] { Read(); });
            case SmtpStep::kStartTls:
                return Write([this] {
                    Handshake([this] {
                        session_.TlsStarted();
                        Pump();
                    });
                });
            case SmtpStep::kAuthenticate:
                return Write([this] { RunOnPool(&Connection::Authenticate); });
            case SmtpStep::kDeliver:
                return Write([this] { RunOnPool(&Connection::Deliver); });
            case SmtpStep::kClose:
                return Write([this] { GracefulClose(); });
        }
    }

    // Runs a blocking policy call on the pool; the session is left alone meanwhile (nothing else of this
    // connection runs while no I/O is pending), and the result comes back on the strand.
    void RunOnPool(void (Connection::*call)()) {
        net::post(pool_, [self = shared_from_this(), call] {
            ((*self).*call)();
            net::post(self->stream_.get_executor(), [self] { self->Pump(); });
        });
    }

    // On the pool.
    void Authenticate() {
        bool accepted = false;
        try {
            accepted = state_->policy.authenticate(session_.PendingUser(), session_.PendingPassword());
        } catch (const std::exception& error) {
            state_->log->error("smtp: authenticate failed: {}", error.what());
        }
        session_.AuthenticationDone(accepted);
        if (!accepted) state_->log->info("smtp: {}: authentication failed", remote_address_);
    }

    // On the pool.
    void Deliver() {
        base::Result<std::string> queued =
            base::MakeError(base::ErrorCode::kUnsupported, "no delivery configured");
        try {
            if (state_->policy.deliver)
                queued = state_->policy.deliver(session_.envelope(), session_.message());
        } catch (const std::exception& error) {
            queued =
                base::MakeError(base::ErrorCode::kInternal, std::string("delivery failed: ") + error.what());
        }
        if (queued) {
            state_->log->info("smtp: {}: queued {} for {} recipient(s)", remote_address_, *queued,
                              session_.envelope().rcpt_to.size());
        } else {
            state_->log->warn("smtp: {}: cannot store a message: {}", remote_address_,
                              queued.error().ToString());
        }
        session_.DeliveryDone(queued);
    }

    // Sends what the session has to say (if anything), then continues.
    template <class Then>
    void Write(Then then) {
        write_buffer_ = session_.TakeOutput();
        if (write_buffer_.empty()) return then();
        Arm(state_->config.session.command_timeout);
        auto done = [self = shared_from_this(), then](error_code ec, std::size_t) {
            self->Disarm();
            if (ec || self->timed_out_) return self->CloseNow();
            then();
        };
        if (tls_active_) {
            net::async_write(stream_, net::buffer(write_buffer_), done);
        } else {
            net::async_write(stream_.next_layer(), net::buffer(write_buffer_), done);
        }
    }

    void Read() {
        Arm(session_.CurrentTimeout());
        auto done = [self = shared_from_this()](error_code ec, std::size_t n) {
            self->Disarm();
            if (self->timed_out_) return self->OnTimedOut();
            if (ec) return self->CloseNow();  // the client left
            self->session_.Receive(std::string_view(self->read_buffer_.data(), n));
            self->Pump();
        };
        if (tls_active_) {
            stream_.async_read_some(net::buffer(read_buffer_), done);
        } else {
            stream_.next_layer().async_read_some(net::buffer(read_buffer_), done);
        }
    }

    template <class Then>
    void Handshake(Then then) {
        Arm(state_->config.session.command_timeout);
        stream_.async_handshake(ssl::stream_base::server, [self = shared_from_this(), then](error_code ec) {
            self->Disarm();
            if (ec || self->timed_out_) {
                self->state_->log->debug("smtp: {}: TLS handshake failed: {}", self->remote_address_,
                                         ec ? ec.message() : "timeout");
                return self->CloseNow();
            }
            self->tls_active_ = true;
            then();
        });
    }

    void OnTimedOut() {
        state_->log->debug("smtp: {}: timeout", remote_address_);
        session_.OnTimeout();
        write_buffer_ = session_.TakeOutput();
        Arm(kCloseGrace);
        auto done = [self = shared_from_this()](error_code, std::size_t) { self->CloseNow(); };
        if (tls_active_) {
            net::async_write(stream_, net::buffer(write_buffer_), done);
        } else {
            net::async_write(stream_.next_layer(), net::buffer(write_buffer_), done);
        }
    }

    // A timer per wait. The wait id keeps a timer that fired just as its operation completed from
    // cancelling the next one.
    void Arm(std::chrono::milliseconds timeout) {
        const std::uint64_t id = ++wait_id_;
        timed_out_ = false;
        timer_.expires_after(timeout);
        timer_.async_wait([self = shared_from_this(), id](error_code ec) {
            if (ec || id != self->wait_id_ || self->closed_) return;
            self->timed_out_ = true;
            error_code ignored;
            self->stream_.next_layer().cancel(ignored);
        });
    }

    void Disarm() {
        ++wait_id_;
        timer_.cancel();
    }

    void GracefulClose() {
        if (closed_) return;
        if (!tls_active_) return LingeringClose();
        Arm(kCloseGrace);
        stream_.async_shutdown([self = shared_from_this()](error_code) { self->CloseNow(); });
    }

    // Stop sending and read what the client still sends for a moment, so that closing with unread bytes
    // does not reset the connection before the client has read our last reply.
    void LingeringClose() {
        if (closed_) return;
        error_code ignored;
        stream_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
        Arm(kCloseGrace);
        Drain();
    }

    void Drain() {
        stream_.next_layer().async_read_some(net::buffer(read_buffer_),
                                             [self = shared_from_this()](error_code ec, std::size_t) {
                                                 if (ec || self->timed_out_) return self->CloseNow();
                                                 self->Drain();
                                             });
    }

    void CloseNow() {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        error_code ignored;
        stream_.next_layer().close(ignored);
    }

    std::shared_ptr<ServerState> state_;
    ssl::stream<tcp::socket> stream_;
    net::steady_timer timer_;
    net::thread_pool::executor_type pool_;
    SmtpSession session_;
    std::string remote_address_;
    std::array<char, kReadChunk> read_buffer_{};
    std::string write_buffer_;
    bool tls_active_ = false;
    bool closed_ = false;
    bool timed_out_ = false;
    std::uint64_t wait_id_ = 0;
};

bool ServerState::Register(const std::shared_ptr<Connection>& connection) {
    std::lock_guard lock(mutex_);
    const auto limit = static_cast<std::size_t>(std::max(1, config.max_connections));
    if (stopping_ || connections_.size() >= limit) return false;
    connections_.emplace(connection.get(), connection);
    return true;
}

void ServerState::Unregister(Connection* connection) {
    std::lock_guard lock(mutex_);
    connections_.erase(connection);
    if (connections_.empty()) connections_ended_.notify_all();
}

void ServerState::AbortAll(std::chrono::milliseconds grace) {
    std::vector<std::shared_ptr<Connection>> open;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const auto& [key, connection] : connections_) {
            if (auto alive = connection.lock()) open.push_back(std::move(alive));
        }
    }
    // Outside the lock: dropping the last reference runs ~Connection, which unregisters.
    for (const auto& connection : open) connection->Abort();
    open.clear();
    std::unique_lock lock(mutex_);
    connections_ended_.wait_for(lock, grace, [this] { return connections_.empty(); });
}

std::string FormatEndpoint(const std::string& address, std::uint16_t port) {
    const bool ipv6 = address.find(':') != std::string::npos;
    return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

base::Result<void> LoadTls(ServerState& state) {
    const SmtpServerConfig& config = state.config;
    if (config.tls_certificate.empty() && config.tls_private_key.empty()) {
        if (config.implicit_tls) {
            return base::MakeError(base::ErrorCode::kInvalidArgument,
                                   "smtp: implicit_tls needs tls_certificate and tls_private_key");
        }
        return {};
    }
    if (config.tls_certificate.empty() || config.tls_private_key.empty()) {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "smtp: tls_certificate and tls_private_key must be set together");
    }
    state.tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::single_dh_use);
    // Mail servers still meet old clients (scanners, printers); TLS 1.2 is the floor all current ones meet.
    SSL_CTX_set_min_proto_version(state.tls.native_handle(), TLS1_2_VERSION);
    error_code ec;
    state.tls.use_certificate_chain_file(config.tls_certificate.string(), ec);
    if (ec) {
        return base::MakeError(
            base::ErrorCode::kIo,
            "smtp: cannot load the TLS certificate " + config.tls_certificate.string() + ": " + ec.message());
    }
    state.tls.use_private_key_file(config.tls_private_key.string(), ssl::context::pem, ec);
    if (ec) {
        return base::MakeError(
            base::ErrorCode::kIo,
            "smtp: cannot load the TLS private key " + config.tls_private_key.string() + ": " + ec.message());
    }
    state.tls_configured = true;
    return {};
}

class AsioSmtpServer final : public SmtpServer {
public:
    AsioSmtpServer(std::shared_ptr<ServerState> state, int io_threads, int delivery_threads)
        : state_(std::move(state)),
          io_(io_threads),
          work_(net::make_work_guard(io_)),
          acceptor_(net::make_strand(io_)),
          accept_retry_timer_(acceptor_.get_executor()),
          pool_(static_cast<std::size_t>(delivery_threads)) {}

    ~AsioSmtpServer() override { Stop(); }

    base::Result<void> Listen() {
        const SmtpServerConfig& config = state_->config;
        const std::string where = FormatEndpoint(config.address, config.port);
        error_code ec;
        const net::ip::address address = net::ip::make_address(config.address, ec);
        if (ec) return base::MakeError(base::ErrorCode::kInvalidArgument, "smtp: invalid address " + where);
        const tcp::endpoint endpoint(address, config.port);
        auto failed = [&](const char* step) {
            return base::MakeError(base::ErrorCode::kIo,
                                   "smtp: cannot listen on " + where + ": " + step + ": " + ec.message());
        };
        if (acceptor_.open(endpoint.protocol(), ec)) return failed("open");
        if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) return failed("SO_REUSEADDR");
        if (acceptor_.bind(endpoint, ec)) return failed("bind");
        if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) return failed("listen");
        port_ = acceptor_.local_endpoint(ec).port();
        return {};
    }

    void Run(int io_threads) {
        for (int i = 0; i < io_threads; ++i) threads_.emplace_back([this] { RunLoop(); });
        net::post(acceptor_.get_executor(), [this] { Accept(); });
    }

    std::uint16_t port() const override { return port_; }

    void Stop() override {
        std::lock_guard lock(stop_mutex_);
        if (stopped_) return;
        stopped_ = true;
        CloseAcceptor();
        state_->AbortAll(kStopGrace);
        pool_.join();  // deliveries in progress finish: see smtp_server.hpp
        work_.reset();
        io_.stop();
        for (std::thread& thread : threads_) thread.join();
        threads_.clear();
    }

private:
    void RunLoop() {
        while (true) {
            try {
                io_.run();
                return;
            } catch (const std::exception& error) {  // handlers catch their own: this is a bug, keep serving
                state_->log->error("smtp: io thread caught: {}", error.what());
            }
        }
    }

    void Accept() {
        acceptor_.async_accept(net::make_strand(io_), [this](error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
            if (ec) {  // out of file descriptors and the like: pause rather than spin
                state_->log->warn("smtp: accept failed: {}", ec.message());
                accept_retry_timer_.expires_after(kAcceptRetryDelay);
                accept_retry_timer_.async_wait([this](error_code wait_ec) {
                    if (!wait_ec) Accept();
                });
                return;
            }
            StartConnection(std::move(socket));
            Accept();
        });
    }

    void StartConnection(tcp::socket socket) {
        error_code ec;
        const tcp::endpoint remote = socket.remote_endpoint(ec);
        if (ec) return;                              // already gone
        socket.set_option(tcp::no_delay(true), ec);  // replies are small and pipelined: no Nagle delay
        auto connection = std::make_shared<Connection>(state_, std::move(socket),
                                                       remote.address().to_string(), pool_.get_executor());
        if (!state_->Register(connection)) {
            state_->log->warn("smtp: refusing {}: {} connections open", remote.address().to_string(),
                              state_->config.max_connections);
            return connection->Refuse();
        }
        connection->Start();
    }

    // The acceptor belongs to its strand; when no thread runs (Listen failed), closing directly is safe.
    void CloseAcceptor() {
        auto close = [this] {
            error_code ignored;
            acceptor_.close(ignored);
            accept_retry_timer_.cancel();
        };
        if (threads_.empty()) return close();
        std::promise<void> closed;
        net::post(acceptor_.get_executor(), [&] {
            close();
            closed.set_value();
        });
        closed.get_future().wait();
    }

    std::shared_ptr<ServerState> state_;
    net::io_context io_;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
    tcp::acceptor acceptor_;
    net::steady_timer accept_retry_timer_;
    net::thread_pool pool_;  // after io_: joined before the io_context goes
    std::vector<std::thread> threads_;
    std::uint16_t port_ = 0;
    std::mutex stop_mutex_;
    bool stopped_ = false;
};

}  // namespace

base::Result<std::unique_ptr<SmtpServer>> SmtpServer::Start(const SmtpServerConfig& config,
                                                            SmtpPolicy policy) {
    auto state = std::make_shared<ServerState>();
    state->config = config;
    state->policy = std::move(policy);
    state->log = base::GetLogger("smtp");
    if (auto tls = LoadTls(*state); !tls) return tl::unexpected(tls.error());

    const int io_threads = std::max(1, config.io_threads);
    auto server =
        std::make_unique<AsioSmtpServer>(std::move(state), io_threads, std::max(1, config.delivery_threads));
    if (auto listening = server->Listen(); !listening) return tl::unexpected(listening.error());
    server->Run(io_threads);
    return std::unique_ptr<SmtpServer>(std::move(server));
}

}  // namespace faxd::mail
