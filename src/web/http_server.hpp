// faxd's HTTP(S) server on Boost.Beast: keep-alive, bounded headers and bodies, time limits, a method+path
// router with {param} segments, JSON errors, and Server-Sent Event streams. Knows nothing of faxes: the
// REST API (api.hpp) registers its routes here.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace faxd::web {

struct HttpRequest {
    std::string method;  // "GET", "POST", ... as sent
    std::string target;  // raw request target ("/api/v1/faxes?limit=5")
    std::string path;    // percent-decoded path, no query ("/api/v1/faxes")
    std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
    std::map<std::string, std::string> headers;  // names lower-cased; repeated headers joined ", "
    std::string body;
    std::string remote_address;                 // "127.0.0.1"
    std::map<std::string, std::string> params;  // path parameters the router matched ({id} -> "out-12")

    // "" when absent. `name` in lower case.
    std::string_view Header(std::string_view name) const;
    // The first value of a query parameter.
    std::optional<std::string> Query(std::string_view name) const;
};

// A stream the server keeps open after the response headers (text/event-stream). Thread-safe; Send queues
// the bytes and returns at once.
class EventStream {
public:
    virtual ~EventStream() = default;
    // False once the client has gone or the stream was closed (then the caller stops sending).
    virtual bool Send(std::string bytes) = 0;
    virtual void Close() = 0;
    virtual bool Closed() const = 0;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location, ...)
    std::string body;
    // Set for a streamed response (SSE): the server sends status and headers (no Content-Length), then calls
    // this once with the stream; the connection stays open until the stream or the client closes it. The
    // server writes ": keepalive\n\n" every 15 s of silence.
    std::function<void(std::shared_ptr<EventStream>)> on_stream;
};

// {"error":{"code":CODE,"message":MESSAGE}} with the status. Codes are stable (docs/api.md).
HttpResponse JsonError(int status, std::string_view code, std::string_view message);

using Handler = std::function<HttpResponse(HttpRequest&)>;

class Router {
public:
    // `pattern` is a path whose segments may be "{name}" (one segment, any non-empty text):
    // "/api/v1/faxes/{id}".
    void Add(std::string method, std::string pattern, Handler handler);
    // The handler's response; 404 (no such path) or 405 with Allow (path known, method not) as JsonError.
    // A handler that throws gets a 500 JsonError("internal", ...) and the server keeps serving.
    HttpResponse Dispatch(HttpRequest& request) const;

private:
    struct Route {
        std::string method;
        std::vector<std::string> segments;
        Handler handler;
    };
    std::vector<Route> routes_;
};

struct HttpServerConfig {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;  // 0: any free port (see HttpServer::port())
    int threads = 4;
    // TLS when both are set (PEM files): the server then speaks only HTTPS on the port.
    std::filesystem::path tls_certificate;
    std::filesystem::path tls_private_key;
    std::size_t max_header_bytes = 16 * 1024;       // request line and headers; over it: 431 header_too_large
    std::size_t max_body_bytes = 64 * 1024 * 1024;  // over it: 413 payload_too_large
    std::chrono::seconds request_timeout{60};       // to read one whole request
    std::chrono::seconds idle_timeout{75};          // keep-alive connection without a request
    int max_connections = 1024;                     // over it: new connections are closed at once
    // Event streams: a comment line after this much silence keeps proxies from dropping the connection; a
    // client that lets more than max_stream_queue_bytes pile up unsent is too slow and gets disconnected.
    std::chrono::milliseconds stream_keepalive_interval{15000};
    std::size_t max_stream_queue_bytes = 1024 * 1024;
};

class HttpServer {
public:
    static base::Result<std::unique_ptr<HttpServer>> Start(const HttpServerConfig& config, Router router);
    virtual ~HttpServer() = default;
    virtual std::uint16_t port() const = 0;  // the bound port
    virtual void Stop() = 0;                 // closes the listener and every connection; joins the threads
};

}  // namespace faxd::web
