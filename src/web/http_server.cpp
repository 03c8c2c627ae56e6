// The listener and its io threads; the sessions live in http_session.cpp.
#include <algorithm>
#include <future>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

#include "web/http_server_impl.hpp"

namespace faxd::web {
namespace {

using namespace detail;

// How long Stop waits for open connections to wind down before it stops the io_context regardless.
constexpr std::chrono::seconds kStopGrace{2};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

std::string FormatEndpoint(const std::string& address, std::uint16_t port) {
    const bool ipv6 = address.find(':') != std::string::npos;
    return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

base::Result<void> LoadTls(const HttpServerConfig& config, ServerState& state) {
    if (config.tls_certificate.empty() && config.tls_private_key.empty()) return {};
    if (config.tls_certificate.empty() || config.tls_private_key.empty()) {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "http: tls_certificate and tls_private_key must be set together");
    }
    ssl::context context(ssl::context::tls_server);
    context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
    beast::error_code ec;
    context.use_certificate_chain_file(config.tls_certificate.string(), ec);
    if (ec) {
        return base::MakeError(
            base::ErrorCode::kIo,
            "http: cannot load the TLS certificate " + config.tls_certificate.string() + ": " + ec.message());
    }
    context.use_private_key_file(config.tls_private_key.string(), ssl::context::pem, ec);
    if (ec) {
        return base::MakeError(
            base::ErrorCode::kIo,
            "http: cannot load the TLS private key " + config.tls_private_key.string() + ": " + ec.message());
    }
    state.tls.emplace(std::move(context));
    return {};
}

class BeastHttpServer final : public HttpServer {
public:
    BeastHttpServer(std::shared_ptr<ServerState> state, int threads)
        : state_(std::move(state)),
          io_(threads),
          work_(net::make_work_guard(io_)),
          acceptor_(net::make_strand(io_)),
          accept_retry_timer_(acceptor_.get_executor()) {}

    ~BeastHttpServer() override { Stop(); }

    base::Result<void> Listen() {
        const HttpServerConfig& config = state_->config;
        const std::string where = FormatEndpoint(config.address, config.port);
        beast::error_code ec;
        const net::ip::address address = net::ip::make_address(config.address, ec);
        if (ec) return base::MakeError(base::ErrorCode::kInvalidArgument, "http: invalid address " + where);
        const tcp::endpoint endpoint(address, config.port);
        auto failed = [&](const char* step) {
            return base::MakeError(base::ErrorCode::kIo,
                                   "http: cannot listen on " + where + ": " + step + ": " + ec.message());
        };
        if (acceptor_.open(endpoint.protocol(), ec)) return failed("open");
        if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) return failed("SO_REUSEADDR");
        if (acceptor_.bind(endpoint, ec)) return failed("bind");
        if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) return failed("listen");
        port_ = acceptor_.local_endpoint(ec).port();
        return {};
    }

    void Run(int threads) {
        for (int i = 0; i < threads; ++i) {
            threads_.emplace_back([this] { RunLoop(); });
        }
        net::post(acceptor_.get_executor(), [this] { Accept(); });
    }

    std::uint16_t port() const override { return port_; }

    void Stop() override {
        std::lock_guard lock(stop_mutex_);
        if (stopped_) return;
        stopped_ = true;
        CloseAcceptor();
        state_->AbortAll(kStopGrace);
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
                state_->log->error("http: io thread caught: {}", error.what());
            }
        }
    }

    void Accept() {
        acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
            if (ec) {  // out of file descriptors and the like: pause rather than spin
                state_->log->warn("http: accept failed: {}", ec.message());
                accept_retry_timer_.expires_after(kAcceptRetryDelay);
                accept_retry_timer_.async_wait([this](beast::error_code wait_ec) {
                    if (!wait_ec) Accept();
                });
                return;
            }
            StartSession(std::move(socket), state_);
            Accept();
        });
    }

    // The acceptor belongs to its strand; when no thread runs (Listen failed), closing directly is safe.
    void CloseAcceptor() {
        auto close = [this] {
            beast::error_code ignored;
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
    std::vector<std::thread> threads_;
    std::uint16_t port_ = 0;
    std::mutex stop_mutex_;
    bool stopped_ = false;
};

}  // namespace

namespace detail {

bool ServerState::Register(const std::shared_ptr<Session>& session) {
    std::lock_guard lock(mutex_);
    const auto limit = static_cast<std::size_t>(std::max(1, config.max_connections));
    if (stopping_ || sessions_.size() >= limit) return false;
    sessions_.emplace(session.get(), session);
    return true;
}

void ServerState::Unregister(Session* session) {
    std::lock_guard lock(mutex_);
    sessions_.erase(session);
    if (sessions_.empty()) sessions_ended_.notify_all();
}

void ServerState::AbortAll(std::chrono::milliseconds grace) {
    std::vector<std::shared_ptr<Session>> open;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const auto& [key, session] : sessions_) {
            if (auto alive = session.lock()) open.push_back(std::move(alive));
        }
    }
    // Outside the lock: dropping the last reference runs ~Session, which unregisters.
    for (const auto& session : open) session->Abort();
    open.clear();
    std::unique_lock lock(mutex_);
    sessions_ended_.wait_for(lock, grace, [this] { return sessions_.empty(); });
}

}  // namespace detail

base::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerConfig& config, Router router) {
    auto state = std::make_shared<ServerState>();
    state->config = config;
    state->router = std::move(router);
    state->log = base::GetLogger("http");
    if (auto tls = LoadTls(config, *state); !tls) return tl::unexpected(tls.error());

    const int threads = std::max(1, config.threads);
    auto server = std::make_unique<BeastHttpServer>(std::move(state), threads);
    if (auto listening = server->Listen(); !listening) return tl::unexpected(listening.error());
    server->Run(threads);
    return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace faxd::web
