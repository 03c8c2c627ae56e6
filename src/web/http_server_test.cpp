// The server over real loopback sockets, driven by a small Beast client with a deadline on every read.
#include <utility>  // before Asio (Boost 1.74, GCC 12, C++20)

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <unistd.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "web/http_server.hpp"

namespace faxd::web {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto kReadDeadline = 5s;

struct Reply {
    int status = 0;
    http::fields headers;
    std::string body;
};

// A blocking-style client: each call runs the io_context until its operation completes or times out.
template <class Stream>
class BasicClient {
public:
    template <class... Args>
    explicit BasicClient(Args&&... args) : stream_(io_, std::forward<Args>(args)...) {}

    beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }
    Stream& stream() { return stream_; }

    void Connect(std::uint16_t port) {
        tcp().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }

    void Write(std::string_view bytes) { net::write(stream_, net::buffer(bytes)); }

    // One response; nullopt when the connection ended (or nothing came in time) instead.
    std::optional<Reply> Read() {
        http::response_parser<http::string_body> parser;
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        beast::error_code result = net::error::timed_out;
        tcp().expires_after(kReadDeadline);
        http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, std::size_t) { result = ec; });
        Run();
        if (result) return std::nullopt;
        Reply reply;
        reply.status = static_cast<int>(parser.get().result_int());
        reply.headers = parser.get().base();
        reply.body = parser.get().body();
        return reply;
    }

    Reply Request(std::string_view method, std::string_view target, std::string_view extra = "",
                  std::string_view body = "") {
        Write(std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" +
              std::string(extra) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
              std::string(body));
        return Read().value_or(Reply{});
    }

    // Raw bytes up to and including `delimiter`.
    std::string ReadUntil(std::string_view delimiter) {
        beast::error_code result = net::error::timed_out;
        tcp().expires_after(kReadDeadline);
        std::size_t length = 0;
        net::async_read_until(stream_, net::dynamic_buffer(raw_), std::string(delimiter),
                              [&](beast::error_code ec, std::size_t n) { result = ec, length = n; });
        Run();
        if (result) return "<" + result.message() + ">";
        std::string text = raw_.substr(0, length);
        raw_.erase(0, length);
        return text;
    }

    // True when the server closes the connection (EOF or reset) within `deadline`, reading and dropping data.
    bool ClosedByServer(std::chrono::milliseconds deadline = kReadDeadline) {
        tcp().expires_after(deadline);
        while (true) {
            beast::error_code result = net::error::timed_out;
            std::array<char, 4096> scratch;
            stream_.async_read_some(net::buffer(scratch),
                                    [&](beast::error_code ec, std::size_t) { result = ec; });
            Run();
            if (result == beast::error::timeout) return false;
            if (result) return true;
        }
    }

private:
    void Run() {
        io_.restart();
        io_.run();
    }

    net::io_context io_;
    Stream stream_;
    beast::flat_buffer buffer_;
    std::string raw_;
};

using Client = BasicClient<beast::tcp_stream>;

std::string ErrorCodeOf(const Reply& reply) {
    const auto start = reply.body.find("\"code\":\"");
    if (start == std::string::npos) return "";
    return reply.body.substr(start + 8, reply.body.find('"', start + 8) - start - 8);
}

HttpResponse Text(std::string body) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = std::move(body);
    return response;
}

// The routes most tests share.
Router TestRouter() {
    Router router;
    router.Add("GET", "/api/v1/faxes", [](HttpRequest&) { return Text("list"); });
    router.Add("GET", "/api/v1/faxes/{id}",
               [](HttpRequest& request) { return Text("fax " + request.params["id"]); });
    router.Add("DELETE", "/api/v1/faxes/{id}", [](HttpRequest&) { return Text("deleted"); });
    router.Add("GET", "/api/v1/faxes/{id}/pages/{page}", [](HttpRequest& request) {
        return Text(request.params["id"] + "/" + request.params["page"]);
    });
    router.Add("POST", "/echo", [](HttpRequest& request) {
        return Text(std::string(request.Header("x-test")) + ":" + request.body + ":" +
                    request.remote_address);
    });
    router.Add("GET", "/decode/{name}", [](HttpRequest& request) {
        std::string text = request.path + "|" + request.params["name"];
        for (const auto& [key, value] : request.query) text += "|" + key + "=" + value;
        text += "|first x=" + request.Query("x").value_or("none");
        return Text(text);
    });
    router.Add("GET", "/throw", [](HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    router.Add("GET", "/created", [](HttpRequest&) {
        HttpResponse response = Text("");
        response.status = 204;
        response.headers.emplace_back("Location", "/somewhere");
        response.headers.emplace_back("X-Injected", "a\r\nSet-Cookie: evil");
        return response;
    });
    return router;
}

HttpServerConfig TestConfig() {
    HttpServerConfig config;
    config.port = 0;
    config.threads = 2;
    return config;
}

std::unique_ptr<HttpServer> StartServer(const HttpServerConfig& config = TestConfig(),
                                        Router router = TestRouter()) {
    auto server = HttpServer::Start(config, std::move(router));
    EXPECT_TRUE(server.has_value()) << server.error().message;
    return server ? std::move(*server) : nullptr;
}

TEST(HttpServerTest, RoutesByMethodAndPathWithParameters) {
    auto server = StartServer();
    Client client;
    client.Connect(server->port());
    Reply reply = client.Request("GET", "/api/v1/faxes/out-12");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "fax out-12");
    EXPECT_EQ(reply.headers[http::field::server], "faxd");
    EXPECT_EQ(reply.headers[http::field::content_type], "text/plain");
    EXPECT_EQ(reply.headers[http::field::content_length], "10");
    EXPECT_EQ(client.Request("GET", "/api/v1/faxes").body, "list");
    EXPECT_EQ(client.Request("GET", "/api/v1/faxes/in-3/pages/2").body, "in-3/2");
    EXPECT_EQ(client.Request("POST", "/echo", "X-Test: hello\r\n", "payload").body,
              "hello:payload:127.0.0.1");
}

TEST(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
    auto server = StartServer();
    Client client;
    client.Connect(server->port());
    Reply missing = client.Request("GET", "/api/v1/nothing");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.headers[http::field::content_type], "application/json");
    EXPECT_EQ(ErrorCodeOf(missing), "not_found");
    EXPECT_EQ(client.Request("GET", "/api/v1/faxes/").status, 404);  // an empty {id} does not match

    Reply wrong = client.Request("PUT", "/api/v1/faxes/out-1");
    EXPECT_EQ(wrong.status, 405);
    EXPECT_EQ(ErrorCodeOf(wrong), "method_not_allowed");
    EXPECT_EQ(wrong.headers[http::field::allow], "GET, DELETE");
}

TEST(HttpServerTest, KeepAliveAndConnectionClose) {
    auto server = StartServer();
    Client client;
    client.Connect(server->port());
    Reply first = client.Request("GET", "/api/v1/faxes");
    Reply second = client.Request("GET", "/api/v1/faxes/a");
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(second.body, "fax a");

    Reply last = client.Request("GET", "/api/v1/faxes", "Connection: close\r\n");
    EXPECT_EQ(last.status, 200);
    EXPECT_EQ(last.headers[http::field::connection], "close");
    EXPECT_TRUE(client.ClosedByServer());
}

TEST(HttpServerTest, NoContentHasNoBodyAndUnsafeHeadersAreDropped) {
    auto server = StartServer();
    Client client;
    client.Connect(server->port());
    Reply reply = client.Request("GET", "/created");
    EXPECT_EQ(reply.status, 204);
    EXPECT_EQ(reply.headers[http::field::location], "/somewhere");
    EXPECT_EQ(reply.headers.count("X-Injected"), 0u);
    EXPECT_EQ(reply.headers.count(http::field::set_cookie), 0u);
    EXPECT_EQ(client.Request("GET", "/api/v1/faxes").status, 200);
}

TEST(HttpServerTest, HeadGetsNoBodySoKeepAliveStaysInStep) {
    auto server = StartServer();
    Client client;
    client.Connect(server->port());
    client.Write(
        "HEAD /api/v1/faxes HTTP/1.1\r\nHost: t\r\n\r\nGET /api/v1/faxes HTTP/1.1\r\nHost: t\r\n\r\n");
    // Beast's parser cannot know the request was HEAD: read the head only, then the next full response.
    http::response_parser<http::empty_body> head;
    head.skip(true);
    beast::flat_buffer buffer;
    http::read(client.tcp().socket(), buffer, head);
    EXPECT_EQ(head.get().result_int(), 405u);
    EXPECT_NE(head.get()[http::field::content_length], "0");
    http::response<http::string_body> next;
    http::read(client.tcp().socket(), buffer, next);
    EXPECT_EQ(next.body(), "list");
}

TEST(HttpServerTest, OversizedHeaderIs431) {
    HttpServerConfig config = TestConfig();
    config.max_header_bytes = 1024;
    auto server = StartServer(config);
    Client client;
    client.Connect(server->port());
    Reply reply = client.Request("GET", "/api/v1/faxes", "X-Big: " + std::string(4096, 'x') + "\r\n");
    EXPECT_EQ(reply.status, 431);
    EXPECT_EQ(ErrorCodeOf(reply), "header_too_large");
    EXPECT_TRUE(client.ClosedByServer());
}

TEST(HttpServerTest, OversizedBodyIs413AndTheServerKeepsServing) {
    HttpServerConfig config = TestConfig();
    config.max_body_bytes = 1024;
    auto server = StartServer(config);
    {
        Client client;
        client.Connect(server->port());
        Reply reply = client.Request("POST", "/echo", "", std::string(64 * 1024, 'b'));
        EXPECT_EQ(reply.status, 413);
        EXPECT_EQ(ErrorCodeOf(reply), "payload_too_large");
        EXPECT_EQ(reply.headers[http::field::connection], "close");
        EXPECT_TRUE(client.ClosedByServer());
    }
    {  // chunked: the limit applies as the body arrives
        Client client;
        client.Connect(server->port());
        client.Write("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                     std::string(0x800, 'c') + "\r\n0\r\n\r\n");
        EXPECT_EQ(client.Read().value_or(Reply{}).status, 413);
    }
    {  // Expect: 100-continue with too large a length is refused before the body is sent
        Client client;
        client.Connect(server->port());
        client.Write(
            "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
        EXPECT_EQ(client.Read().value_or(Reply{}).status, 413);
    }
    Client client;
    client.Connect(server->port());
    client.Write("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    EXPECT_EQ(client.Read().value_or(Reply{}).status, 100);
    client.Write("small");
    EXPECT_EQ(client.Read().value_or(Reply{}).body, ":small:127.0.0.1");
}

TEST(HttpServerTest, MalformedRequestIs400) {
    auto server = StartServer();
    Client client;
    client.Connect(server->port());
    client.Write("GARBAGE\r\n\r\n");
    Reply reply = client.Read().value_or(Reply{});
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(ErrorCodeOf(reply), "bad_request");
    EXPECT_TRUE(client.ClosedByServer());

    Client absolute;
    absolute.Connect(server->port());
    EXPECT_EQ(absolute.Request("GET", "http://example.com/api/v1/faxes").status, 400);
}

TEST(HttpServerTest, ThrowingHandlerGives500AndTheConnectionKeepsWorking) {
    auto server = StartServer();
    Client client;
    client.Connect(server->port());
    Reply reply = client.Request("GET", "/throw");
    EXPECT_EQ(reply.status, 500);
    EXPECT_EQ(ErrorCodeOf(reply), "internal");
    EXPECT_EQ(client.Request("GET", "/api/v1/faxes").body, "list");
}

TEST(HttpServerTest, DecodesPathAndQuery) {
    auto server = StartServer();
    Client client;
    client.Connect(server->port());
    EXPECT_EQ(client.Request("GET", "/decode/a%20b%C3%A9?x=1+2&y=%26%3D&&x=3&flag").body,
              "/decode/a b\xC3\xA9|a b\xC3\xA9|x=1 2|y=&=|x=3|flag=|first x=1 2");
    EXPECT_EQ(client.Request("GET", "/decode/a+b").body,
              "/decode/a+b|a+b|first x=none");  // '+' is literal in a path
    for (const char* bad :
         {"/decode/%00", "/decode/%zz", "/decode/%4", "/decode/x?y=%00", "/decode/x?%g0=1"}) {
        Reply reply = client.Request("GET", bad);
        EXPECT_EQ(reply.status, 400) << bad;
        EXPECT_EQ(ErrorCodeOf(reply), "bad_request") << bad;
    }
}

// Hands the event stream of GET /events to the test.
struct StreamCatcher {
    std::promise<std::shared_ptr<EventStream>> stream;

    Router MakeRouter() {
        Router router = TestRouter();
        router.Add("GET", "/events", [this](HttpRequest&) {
            HttpResponse response;
            response.content_type = "text/event-stream";
            response.on_stream = [this](std::shared_ptr<EventStream> events) {
                stream.set_value(std::move(events));
            };
            return response;
        });
        return router;
    }

    std::shared_ptr<EventStream> Get() {
        auto future = stream.get_future();
        if (future.wait_for(kReadDeadline) != std::future_status::ready) return nullptr;
        return future.get();
    }
};

bool Eventually(const std::function<bool()>& condition) {
    for (auto deadline = std::chrono::steady_clock::now() + kReadDeadline;
         std::chrono::steady_clock::now() < deadline;) {
        if (condition()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return condition();
}

TEST(HttpServerStreamTest, DeliversEventsSentFromAnotherThread) {
    StreamCatcher catcher;
    auto server = StartServer(TestConfig(), catcher.MakeRouter());
    Client client;
    client.Connect(server->port());
    client.Write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    const std::string head = client.ReadUntil("\r\n\r\n");
    EXPECT_THAT(head, HasSubstr("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(head, HasSubstr("Content-Type: text/event-stream\r\n"));
    EXPECT_THAT(head, HasSubstr("Cache-Control: no-store\r\n"));
    EXPECT_THAT(head, ::testing::Not(HasSubstr("Content-Length")));

    auto events = catcher.Get();
    ASSERT_NE(events, nullptr);
    std::thread producer([events] {
        EXPECT_TRUE(events->Send("id: 1\nevent: fax.queued\ndata: {}\n\n"));
        EXPECT_TRUE(events->Send("id: 2\ndata: {\"x\":1}\n\n"));
        events->Close();
        EXPECT_TRUE(events->Closed());
        EXPECT_FALSE(events->Send("too late\n\n"));
    });
    producer.join();
    EXPECT_EQ(client.ReadUntil("\n\n"), "id: 1\nevent: fax.queued\ndata: {}\n\n");
    EXPECT_EQ(client.ReadUntil("\n\n"), "id: 2\ndata: {\"x\":1}\n\n");
    EXPECT_TRUE(client.ClosedByServer());  // Close flushes, then ends the connection
}

TEST(HttpServerStreamTest, NoticesTheClientLeaving) {
    StreamCatcher catcher;
    auto server = StartServer(TestConfig(), catcher.MakeRouter());
    auto client = std::make_unique<Client>();
    client->Connect(server->port());
    client->Write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    client->ReadUntil("\r\n\r\n");
    auto events = catcher.Get();
    ASSERT_NE(events, nullptr);
    EXPECT_FALSE(events->Closed());
    client.reset();
    EXPECT_TRUE(Eventually([&] { return events->Closed(); }));
    EXPECT_FALSE(events->Send("data: gone\n\n"));
}

TEST(HttpServerStreamTest, WritesKeepalivesInSilence) {
    StreamCatcher catcher;
    HttpServerConfig config = TestConfig();
    config.stream_keepalive_interval = 50ms;
    auto server = StartServer(config, catcher.MakeRouter());
    Client client;
    client.Connect(server->port());
    client.Write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    client.ReadUntil("\r\n\r\n");
    auto events = catcher.Get();
    ASSERT_NE(events, nullptr);
    EXPECT_EQ(client.ReadUntil("\n\n"), ": keepalive\n\n");
    EXPECT_TRUE(events->Send("data: after\n\n"));
    std::string next = client.ReadUntil("\n\n");
    while (next == ": keepalive\n\n") next = client.ReadUntil("\n\n");
    EXPECT_EQ(next, "data: after\n\n");
}

TEST(HttpServerStreamTest, ClosesAClientThatDoesNotRead) {
    StreamCatcher catcher;
    HttpServerConfig config = TestConfig();
    config.max_stream_queue_bytes = 64 * 1024;
    auto server = StartServer(config, catcher.MakeRouter());
    Client client;
    client.Connect(server->port());
    client.Write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    client.ReadUntil("\r\n\r\n");
    auto events = catcher.Get();
    ASSERT_NE(events, nullptr);
    const std::string chunk = "data: " + std::string(16 * 1024, 'x') + "\n\n";
    std::size_t sent = 0;
    while (sent < 512u * 1024 * 1024 && events->Send(chunk)) sent += chunk.size();
    EXPECT_LT(sent, 512u * 1024 * 1024);
    EXPECT_TRUE(events->Closed());
}

TEST(HttpServerStreamTest, StopClosesStreams) {
    StreamCatcher catcher;
    auto server = StartServer(TestConfig(), catcher.MakeRouter());
    Client client;
    client.Connect(server->port());
    client.Write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    client.ReadUntil("\r\n\r\n");
    auto events = catcher.Get();
    ASSERT_NE(events, nullptr);
    server->Stop();
    EXPECT_TRUE(events->Closed());
    EXPECT_FALSE(events->Send("data: x\n\n"));
    EXPECT_TRUE(client.ClosedByServer());
    server->Stop();  // idempotent
    server.reset();
    EXPECT_FALSE(events->Send("data: after destruction\n\n"));
}

TEST(HttpServerLimitsTest, AnswersManyConcurrentConnections) {
    auto server = StartServer();
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 200; ++i) {
        clients.push_back(std::make_unique<Client>());
        clients.back()->Connect(server->port());
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
        clients[i]->Write("GET /api/v1/faxes/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    int answered = 0;
    for (std::size_t i = 0; i < clients.size(); ++i) {
        answered += clients[i]->Read().value_or(Reply{}).body == "fax " + std::to_string(i);
    }
    EXPECT_EQ(answered, 200);
}

TEST(HttpServerLimitsTest, ClosesConnectionsOverMaxConnections) {
    HttpServerConfig config = TestConfig();
    config.max_connections = 2;
    auto server = StartServer(config);
    auto first = std::make_unique<Client>();
    Client second;
    first->Connect(server->port());
    second.Connect(server->port());
    EXPECT_EQ(first->Request("GET", "/api/v1/faxes").status, 200);
    EXPECT_EQ(second.Request("GET", "/api/v1/faxes").status, 200);

    Client third;
    third.Connect(server->port());  // the kernel accepts; the server closes it at once
    EXPECT_TRUE(third.ClosedByServer());

    first.reset();  // a place frees up
    EXPECT_TRUE(Eventually([&] {
        Client fourth;
        fourth.Connect(server->port());
        return fourth.Request("GET", "/api/v1/faxes").status == 200;
    }));
}

TEST(HttpServerLimitsTest, ClosesSlowRequestsAndIdleConnections) {
    HttpServerConfig config = TestConfig();
    config.request_timeout = 1s;
    config.idle_timeout = 1s;
    auto server = StartServer(config);

    Client slow;  // slowloris: a header that never ends
    slow.Connect(server->port());
    Client idle;
    idle.Connect(server->port());
    EXPECT_EQ(idle.Request("GET", "/api/v1/faxes").status, 200);

    const auto start = std::chrono::steady_clock::now();
    slow.Write("GET /api/v1/faxes HTTP/1.1\r\nHost: t\r\n");
    std::this_thread::sleep_for(300ms);
    slow.Write("X-Drip: 1\r\n");
    EXPECT_TRUE(slow.ClosedByServer(3000ms));
    EXPECT_TRUE(idle.ClosedByServer(3000ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
}

TEST(HttpServerStartTest, ReportsABusyPort) {
    auto first = StartServer();
    HttpServerConfig config = TestConfig();
    config.port = first->port();
    auto second = HttpServer::Start(config, TestRouter());
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code, base::ErrorCode::kIo);
    EXPECT_THAT(second.error().message, HasSubstr("127.0.0.1:" + std::to_string(first->port())));
    EXPECT_THAT(second.error().message, HasSubstr("in use"));
}

TEST(HttpServerStartTest, RefusesHalfATlsConfiguration) {
    HttpServerConfig config = TestConfig();
    config.tls_certificate = "/nonexistent/cert.pem";
    auto server = HttpServer::Start(config, TestRouter());
    ASSERT_FALSE(server.has_value());
    EXPECT_EQ(server.error().code, base::ErrorCode::kInvalidArgument);
    config.tls_private_key = "/nonexistent/key.pem";
    server = HttpServer::Start(config, TestRouter());
    ASSERT_FALSE(server.has_value());
    EXPECT_THAT(server.error().message, HasSubstr("/nonexistent/cert.pem"));
}

class HttpServerTlsTest : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ = std::filesystem::temp_directory_path() / ("faxd-http-tls-" + std::to_string(::getpid()));
        std::filesystem::create_directories(directory_);
        const std::string command =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
            "-subj /CN=localhost -keyout " +
            (directory_ / "key.pem").string() + " -out " + (directory_ / "cert.pem").string() +
            " >/dev/null 2>&1";
        ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
    void TearDown() override { std::filesystem::remove_all(directory_); }

    std::filesystem::path directory_;
};

TEST_F(HttpServerTlsTest, ServesHttpsOnly) {
    HttpServerConfig config = TestConfig();
    config.tls_certificate = directory_ / "cert.pem";
    config.tls_private_key = directory_ / "key.pem";
    auto server = StartServer(config);

    ssl::context context(ssl::context::tls_client);
    context.load_verify_file((directory_ / "cert.pem").string());
    context.set_verify_mode(ssl::verify_peer);
    BasicClient<beast::ssl_stream<beast::tcp_stream>> client(context);
    client.Connect(server->port());
    client.stream().handshake(ssl::stream_base::client);
    EXPECT_EQ(client.Request("GET", "/api/v1/faxes/tls").body, "fax tls");
    Reply last = client.Request("GET", "/api/v1/faxes", "Connection: close\r\n");
    EXPECT_EQ(last.status, 200);
    EXPECT_TRUE(client.ClosedByServer());

    Client plain;  // plain HTTP gets no HTTP answer on the TLS port
    plain.Connect(server->port());
    plain.Write("GET /api/v1/faxes HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_FALSE(plain.Read().has_value());
}

}  // namespace
}  // namespace faxd::web
