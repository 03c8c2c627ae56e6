// One HTTP/1.1 connection, plain or TLS: read a request under time and size limits, dispatch it, write the
// response, repeat while keep-alive lasts; or turn the connection into an event stream (SSE).
//
// Everything of a session runs on its strand; only Abort and the StreamChannel are called from elsewhere.
#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <exception>
#include <limits>
#include <string>
#include <type_traits>

#include "web/http_server_impl.hpp"

namespace faxd::web::detail {
namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// How long a closing connection waits for the peer (TLS close_notify, or the rest of a refused body).
constexpr std::chrono::seconds kCloseGrace{2};
// A client still sending a refused body gets this much read and thrown away, so that closing does not reset
// the connection before it has read our error response.
constexpr std::size_t kMaxDrainBytes = 1024 * 1024;
constexpr std::size_t kReadChunk = 4096;

bool IsHttpSyntaxError(const beast::error_code& ec) {
    const beast::error_code http_category_probe = http::error::bad_method;
    return ec.category() == http_category_probe.category() && ec != http::error::end_of_stream &&
           ec != http::error::partial_message;
}

// Header names and values from handlers go on the wire as they are; refuse what could split the header.
bool IsSafeHeaderText(std::string_view text) {
    return std::none_of(text.begin(), text.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

enum class AfterWrite { kNextRequest, kClose, kLingeringClose };

template <class Stream>
class HttpSession final : public Session {
public:
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

    template <class... StreamArgs>
    HttpSession(std::shared_ptr<ServerState> state, std::string remote_address, StreamArgs&&... stream_args)
        : stream_(std::forward<StreamArgs>(stream_args)...),
          strand_(stream_.get_executor()),
          keepalive_timer_(strand_),
          state_(std::move(state)),
          remote_address_(std::move(remote_address)) {}

    ~HttpSession() override {
        {
            std::lock_guard lock(channel_mutex_);
            if (channel_) channel_->MarkClosed();
        }
        state_->Unregister(this);
    }

    void Start() override {
        net::dispatch(strand_, [self = Self()] { self->Begin(); });
    }

    void Abort() override {
        {
            std::lock_guard lock(channel_mutex_);
            if (channel_) channel_->MarkClosed();
        }
        net::post(strand_, [self = Self()] { self->CloseNow(); });
    }

    void WriteStreamBytes(std::string bytes) override {
        if (closed_) return;
        stream_queue_.push_back(StreamChunk{std::move(bytes), true});
        if (stream_queue_.size() == 1) WriteNextStreamChunk();
    }

    void FinishStream() override {
        if (closed_) return;
        stream_finishing_ = true;
        if (stream_queue_.empty()) EndStream();
    }

    void CloseNow() override {
        if (closed_) return;
        closed_ = true;
        {
            std::lock_guard lock(channel_mutex_);
            if (channel_) channel_->MarkClosed();
        }
        keepalive_timer_.cancel();
        Lowest().close();
    }

    const net::any_io_executor& strand() const override { return strand_; }

private:
    struct StreamChunk {
        std::string bytes;
        bool from_channel;  // counted against the channel's queue bound (keepalives are not)
    };

    std::shared_ptr<HttpSession> Self() { return std::static_pointer_cast<HttpSession>(shared_from_this()); }
    beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
    const HttpServerConfig& config() const { return state_->config; }

    // The request_timeout armed here covers the TLS handshake and the whole first request (slowloris).
    void Begin() {
        Lowest().expires_after(config().request_timeout);
        if constexpr (kTls) {
            stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
                if (ec) return self->CloseNow();
                self->ReadRequest(false);
            });
        } else {
            ReadRequest(false);
        }
    }

    void ReadRequest(bool between_requests) {
        if (closed_) return;
        parser_.emplace();
        head_request_ = false;
        parser_->header_limit(static_cast<std::uint32_t>(
            std::min<std::size_t>(config().max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
        parser_->body_limit(config().max_body_bytes);
        if (!between_requests) return ReadHeader();
        if (buffer_.size() > 0) {  // pipelined: the next request is already here
            Lowest().expires_after(config().request_timeout);
            return ReadHeader();
        }
        // Idle keep-alive: wait for the first bytes under idle_timeout, then give the request its own time.
        Lowest().expires_after(config().idle_timeout);
        stream_.async_read_some(buffer_.prepare(kReadChunk),
                                [self = Self()](beast::error_code ec, std::size_t n) {
                                    if (ec) return self->CloseNow();
                                    self->buffer_.commit(n);
                                    self->Lowest().expires_after(self->config().request_timeout);
                                    self->ReadHeader();
                                });
    }

    void ReadHeader() {
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = Self()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
    }

    void OnHeader(beast::error_code ec) {
        if (ec) return OnReadError(ec);
        // curl and others wait (up to a second) for this before sending a large body. Too large a
        // Content-Length has already failed above with body_limit, so the body is never invited.
        if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
            continue_response_ = {http::status::continue_, 11};
            http::async_write(stream_, continue_response_,
                              [self = Self()](beast::error_code ec, std::size_t) {
                                  if (ec) return self->CloseNow();
                                  self->ReadBody();
                              });
            return;
        }
        ReadBody();
    }

    void ReadBody() {
        if (parser_->is_done()) return OnRequest();
        http::async_read(stream_, buffer_, *parser_, [self = Self()](beast::error_code ec, std::size_t) {
            if (ec) return self->OnReadError(ec);
            self->OnRequest();
        });
    }

    void OnReadError(beast::error_code ec) {
        if (ec == http::error::body_limit) {
            return WriteResponse(JsonError(413, "payload_too_large",
                                           "the request body is larger than " +
                                               std::to_string(config().max_body_bytes) + " bytes"),
                                 AfterWrite::kLingeringClose);
        }
        if (ec == http::error::header_limit) {
            return WriteResponse(JsonError(431, "header_too_large",
                                           "the request header is larger than " +
                                               std::to_string(config().max_header_bytes) + " bytes"),
                                 AfterWrite::kLingeringClose);
        }
        if (IsHttpSyntaxError(ec)) {
            return WriteResponse(JsonError(400, "bad_request", "malformed request: " + ec.message()),
                                 AfterWrite::kLingeringClose);
        }
        CloseNow();  // the client left, timed out or broke the connection: nobody to answer
    }

    void OnRequest() {
        auto message = parser_->release();
        const bool keep_alive = message.keep_alive();
        head_request_ = message.method() == http::verb::head;
        HttpResponse response = Handle(message);
        if (response.on_stream) return StartStream(std::move(response));
        WriteResponse(std::move(response), keep_alive ? AfterWrite::kNextRequest : AfterWrite::kClose);
    }

    HttpResponse Handle(http::request<http::string_body>& message) {
        try {
            HttpRequest request;
            request.method = std::string(message.method_string());
            request.target = std::string(message.target());
            if (auto decoded = DecodeTarget(request.target, request); !decoded) {
                return JsonError(400, "bad_request", decoded.error().message);
            }
            for (const auto& field : message) {
                std::string name(field.name_string());
                std::transform(name.begin(), name.end(), name.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                const std::string_view value(field.value().data(), field.value().size());
                auto [entry, inserted] = request.headers.try_emplace(std::move(name), value);
                if (!inserted) (entry->second += ", ") += value;
            }
            request.body = std::move(message.body());
            request.remote_address = remote_address_;
            return state_->router.Dispatch(request);
        } catch (const std::exception& error) {
            state_->log->error("http: request failed: {}", error.what());
        }
        return JsonError(500, "internal", "internal error");
    }

    template <class Body>
    void SetHead(http::response<Body>& message, const HttpResponse& response) {
        message.version(11);
        message.result(static_cast<unsigned>(response.status));  // throws beyond 999
        message.set(http::field::server, "faxd");
        if (!response.content_type.empty()) message.set(http::field::content_type, response.content_type);
        for (const auto& [name, value] : response.headers) {
            if (!name.empty() && IsSafeHeaderText(name) && IsSafeHeaderText(value))
                message.insert(name, value);
        }
    }

    void WriteResponse(HttpResponse response, AfterWrite after) {
        response_ = {};
        try {
            SetHead(response_, response);
            // 1xx, 204 and 304 carry no body (RFC 9110 §6.4.1); Beast would throw on one.
            if (response.status < 200 || response.status == 204 || response.status == 304)
                response.body.clear();
            response_.body() = std::move(response.body);
            const bool keep_alive = after == AfterWrite::kNextRequest && response_.keep_alive();
            if (!keep_alive && after == AfterWrite::kNextRequest) after = AfterWrite::kClose;
            response_.keep_alive(keep_alive);
            response_.prepare_payload();
            // No routes answer HEAD, but a body after a HEAD request would be read as the next response.
            if (head_request_) response_.body().clear();
        } catch (const std::exception& error) {
            state_->log->error("http: cannot build the response: {}", error.what());
            response_ = {http::status::internal_server_error, 11};
            response_.set(http::field::server, "faxd");
            response_.set(http::field::content_type, "application/json");
            response_.body() = JsonError(500, "internal", "internal error").body;
            response_.keep_alive(false);
            response_.prepare_payload();
            if (after == AfterWrite::kNextRequest) after = AfterWrite::kClose;
        }
        Lowest().expires_after(config().request_timeout);
        http::async_write(stream_, response_, [self = Self(), after](beast::error_code ec, std::size_t) {
            if (ec) return self->CloseNow();
            switch (after) {
                case AfterWrite::kNextRequest:
                    return self->ReadRequest(true);
                case AfterWrite::kClose:
                    return self->GracefulClose();
                case AfterWrite::kLingeringClose:
                    return self->LingeringClose();
            }
        });
    }

    // Server-Sent Events: headers without Content-Length, the body ends when the connection does.
    void StartStream(HttpResponse response) {
        stream_head_ = {};
        try {
            SetHead(stream_head_, response);
            stream_head_.set(http::field::cache_control, "no-store");
        } catch (const std::exception& error) {
            state_->log->error("http: cannot build the stream response: {}", error.what());
            return WriteResponse(JsonError(500, "internal", "internal error"), AfterWrite::kClose);
        }
        auto channel = std::make_shared<StreamChannel>(weak_from_this(), config().max_stream_queue_bytes);
        {
            std::lock_guard lock(channel_mutex_);
            channel_ = channel;
        }
        Lowest().expires_after(config().request_timeout);
        http::async_write(stream_, stream_head_,
                          [self = Self(), channel, on_stream = std::move(response.on_stream)](
                              beast::error_code ec, std::size_t) {
                              if (ec) {
                                  self->CloseNow();
                              } else {
                                  self->BeginStream();
                              }
                              // Called exactly once, even with a stream already closed, so the owner can
                              // always clean up.
                              try {
                                  on_stream(channel);
                              } catch (const std::exception& error) {
                                  self->state_->log->error("http: stream callback failed: {}", error.what());
                                  channel->Close();
                              }
                          });
    }

    void BeginStream() {
        if (closed_) return;
        Lowest().expires_never();
        beast::error_code ignored;
        Lowest().socket().non_blocking(true, ignored);  // for the peek in OnPeerReadable
        WatchForDisconnect();
        ArmKeepalive();
    }

    // Waits for readability on the raw socket instead of reading through the stream, so that a TLS read
    // never competes with our writes or with the closing handshake.
    void WatchForDisconnect() {
        Lowest().socket().async_wait(tcp::socket::wait_read,
                                     [self = Self()](beast::error_code ec) { self->OnPeerReadable(ec); });
    }

    void OnPeerReadable(beast::error_code ec) {
        if (ec == net::error::operation_aborted || closed_) return;  // EndStream cancelled the watch
        if (ec) return CloseNow();
        beast::error_code read_ec;
        const std::size_t n = Lowest().socket().receive(
            net::buffer(peek_buffer_), kTls ? tcp::socket::message_peek : tcp::socket::message_flags{0},
            read_ec);
        if (read_ec == net::error::would_block || read_ec == net::error::try_again)
            return WatchForDisconnect();
        if (read_ec || n == 0) return CloseNow();
        // An event-stream client has nothing to say: over TLS this is its close_notify (peeked, so the TLS
        // state stays intact); over plain TCP throw the bytes away and keep listening.
        if constexpr (kTls) return CloseNow();
        WatchForDisconnect();
    }

    void ArmKeepalive() {
        keepalive_timer_.expires_after(config().stream_keepalive_interval);
        keepalive_timer_.async_wait([self = Self()](beast::error_code ec) {
            if (ec || self->closed_ || self->stream_finishing_ || !self->stream_queue_.empty()) return;
            self->stream_queue_.push_back(StreamChunk{": keepalive\n\n", false});
            self->WriteNextStreamChunk();
        });
    }

    void WriteNextStreamChunk() {
        Lowest().expires_after(config().request_timeout);
        net::async_write(
            stream_, net::buffer(stream_queue_.front().bytes),
            [self = Self()](beast::error_code ec, std::size_t) { self->OnStreamChunkWritten(ec); });
    }

    void OnStreamChunkWritten(beast::error_code ec) {
        if (ec) return CloseNow();
        if (stream_queue_.front().from_channel) channel_->OnWritten(stream_queue_.front().bytes.size());
        stream_queue_.pop_front();
        if (!stream_queue_.empty()) return WriteNextStreamChunk();
        if (stream_finishing_) return EndStream();
        ArmKeepalive();
    }

    void EndStream() {
        keepalive_timer_.cancel();
        beast::error_code ignored;
        Lowest().socket().cancel(ignored);  // the disconnect watch
        GracefulClose();
    }

    void GracefulClose() {
        if (closed_) return;
        if constexpr (kTls) {
            Lowest().expires_after(kCloseGrace);
            stream_.async_shutdown([self = Self()](beast::error_code) { self->CloseNow(); });
        } else {
            beast::error_code ignored;
            Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
            CloseNow();
        }
    }

    // After refusing a request whose body may still be arriving: stop sending, read and discard for a moment.
    void LingeringClose() {
        if (closed_) return;
        beast::error_code ignored;
        Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        Lowest().expires_after(kCloseGrace);
        drain_buffer_.resize(16 * 1024);
        Drain();
    }

    void Drain() {
        Lowest().async_read_some(net::buffer(drain_buffer_),
                                 [self = Self()](beast::error_code ec, std::size_t n) {
                                     self->drained_bytes_ += n;
                                     if (ec || self->drained_bytes_ > kMaxDrainBytes) return self->CloseNow();
                                     self->Drain();
                                 });
    }

    Stream stream_;
    net::any_io_executor strand_;
    net::steady_timer keepalive_timer_;
    std::shared_ptr<ServerState> state_;
    std::string remote_address_;
    bool closed_ = false;
    bool head_request_ = false;

    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::empty_body> continue_response_;
    http::response<http::string_body> response_;

    http::response<http::empty_body> stream_head_;
    std::deque<StreamChunk> stream_queue_;  // the front is being written
    bool stream_finishing_ = false;
    std::mutex channel_mutex_;  // channel_ is set on the strand and read by Abort from the stopping thread
    std::shared_ptr<StreamChannel> channel_;

    std::array<char, 1> peek_buffer_{};
    std::string drain_buffer_;
    std::size_t drained_bytes_ = 0;
};

}  // namespace

void StartSession(tcp::socket socket, const std::shared_ptr<ServerState>& state) {
    beast::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);  // responses are single writes: Nagle only adds latency
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    std::string remote_address = ec ? std::string() : remote.address().to_string();

    std::shared_ptr<Session> session;
    if (state->tls) {
        session = std::make_shared<HttpSession<TlsStream>>(state, std::move(remote_address),
                                                           std::move(socket), *state->tls);
    } else {
        session =
            std::make_shared<HttpSession<PlainStream>>(state, std::move(remote_address), std::move(socket));
    }
    if (!state->Register(session)) return;  // over max_connections or stopping: dropping it closes the socket
    session->Start();
}

}  // namespace faxd::web::detail
