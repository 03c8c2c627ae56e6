// Internals of the HTTP server shared by http_server.cpp (listener, threads, stop) and http_session.cpp (one
// connection). Not part of the web module's interface.
#pragma once

// Boost 1.74's Asio needs <utility> before it with GCC 12 in C++20 mode (DESIGN.md).
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/log.hpp"
#include "base/result.hpp"
#include "web/http_server.hpp"

namespace faxd::web::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// Splits a request target into the percent-decoded path and the decoded query pairs ('+' is a space in the
// query only). Fails on targets not starting with '/', invalid escapes and %00.
base::Result<void> DecodeTarget(std::string_view target, HttpRequest& request);

// One connection, seen from the server (to stop it) and from its EventStream (to feed it).
class Session : public std::enable_shared_from_this<Session> {
public:
    virtual ~Session() = default;
    virtual void Start() = 0;
    // Any thread: close the connection now and close its event stream, if any (server stop).
    virtual void Abort() = 0;
    // On the session's strand only:
    virtual void WriteStreamBytes(std::string bytes) = 0;
    virtual void FinishStream() = 0;  // flush what is queued, then close the connection
    virtual void CloseNow() = 0;
    virtual const net::any_io_executor& strand() const = 0;
};

// The EventStream an on_stream callback gets. Send and Close only post to the session's strand; they hold
// the mutex while posting so that the server can make sure no post reaches an io_context being destroyed
// (MarkClosed before Stop tears down).
class StreamChannel final : public EventStream {
public:
    StreamChannel(std::weak_ptr<Session> session, std::size_t max_queued_bytes);

    bool Send(std::string bytes) override;
    void Close() override;
    bool Closed() const override;

    void MarkClosed();                  // the connection is gone: no more posts
    void OnWritten(std::size_t bytes);  // queued bytes reached the socket

private:
    mutable std::mutex mutex_;
    bool closed_ = false;
    std::size_t queued_bytes_ = 0;
    // Only a weak reference, and no executor of its own: the stream may outlive the server and its
    // io_context.
    std::weak_ptr<Session> session_;
    std::size_t max_queued_bytes_;
};

// What every session of one server shares. Sessions hold it by shared_ptr, so it outlives the io_context's
// last handler however the server is torn down.
struct ServerState {
    HttpServerConfig config;
    Router router;
    std::optional<ssl::context> tls;
    base::Logger log;

    // False when stopping or at max_connections: the caller drops the session (closing its socket).
    bool Register(const std::shared_ptr<Session>& session);
    void Unregister(Session* session);
    // Refuses new sessions, aborts the open ones, and waits up to `grace` for them to end.
    void AbortAll(std::chrono::milliseconds grace);

private:
    std::mutex mutex_;
    std::condition_variable sessions_ended_;
    bool stopping_ = false;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
};

// Wraps an accepted socket in a plain or TLS session (by state->tls) and starts it, unless the server is at
// max_connections or stopping: then the socket is closed at once.
void StartSession(tcp::socket socket, const std::shared_ptr<ServerState>& state);

}  // namespace faxd::web::detail
