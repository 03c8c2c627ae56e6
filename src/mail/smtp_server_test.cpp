// The SMTP listener over real sockets on 127.0.0.1 (ephemeral ports): swaks as an independent client, and a
// small raw client for what swaks cannot do (concurrency, slow clients, connection limits).
#include "mail/smtp_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace faxd::mail {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A blocking SMTP client on a raw socket; every read gives up after 5 s so a broken server fails the test
// instead of hanging it.
class RawClient {
public:
    explicit RawClient(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        timeval timeout{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~RawClient() { ::close(fd_); }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }

    void Send(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // One whole (possibly multi-line) reply with its CRLFs; "" when the connection ended or nothing came.
    std::string ReadReply() {
        while (true) {
            std::size_t start = 0;
            for (std::size_t end; (end = buffer_.find("\r\n", start)) != std::string::npos; start = end + 2) {
                if (end - start == 3 || (end - start > 3 && buffer_[start + 3] == ' ')) {
                    std::string reply = buffer_.substr(0, end + 2);
                    buffer_.erase(0, end + 2);
                    return reply;
                }
            }
            char chunk[4096];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return "";
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    // True when the server closed the connection (EOF) within the read timeout.
    bool ClosedByServer() {
        char byte;
        return buffer_.empty() && ::recv(fd_, &byte, 1, 0) == 0;
    }

private:
    int fd_ = -1;
    bool connected_ = false;
    std::string buffer_;
};

struct CommandResult {
    int status = -1;
    std::string output;
};

CommandResult RunCommand(const std::string& command) {
    CommandResult result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return result;
    char chunk[4096];
    while (const std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe)) result.output.append(chunk, n);
    const int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

class SmtpServerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        directory_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                               ("faxd-smtp-" + std::to_string(::getpid())));
        std::filesystem::create_directories(*directory_);
        const std::string command =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-days 1 -subj /CN=localhost -keyout " +
            (*directory_ / "key.pem").string() + " -out " + (*directory_ / "cert.pem").string() +
            " >/dev/null 2>&1";
        cert_made_ = std::system(command.c_str()) == 0;
        swaks_found_ = std::system("command -v swaks >/dev/null 2>&1") == 0;
    }
    static void TearDownTestSuite() {
        std::filesystem::remove_all(*directory_);
        delete directory_;
    }

    SmtpServerTest() {
        config_.port = 0;
        config_.session.hostname = "fax.test";
        config_.io_threads = 2;
        policy_.check_recipient = [](const std::string& address) {
            if (address.ends_with("@other.com")) {
                return SmtpVerdict::Reject("550 5.1.1 <" + address + ">: not a fax domain");
            }
            return SmtpVerdict::Accept();
        };
        policy_.authenticate = [](const std::string& user, const std::string& password) {
            return user == "alice" && password == "secret";
        };
        policy_.deliver = [this](const SmtpEnvelope& envelope,
                                 const std::string& message) -> base::Result<std::string> {
            std::unique_lock lock(mutex_);
            if (hold_first_delivery_ && deliveries_started_++ == 0) {
                delivery_waiting_ = true;
                changed_.notify_all();
                changed_.wait_for(lock, 10s, [this] { return !hold_first_delivery_; });
            }
            if (fail_delivery_) return base::MakeError(base::ErrorCode::kIo, "spool unavailable");
            envelopes_.push_back(envelope);
            messages_.push_back(message);
            changed_.notify_all();
            return "Q" + std::to_string(messages_.size());
        };
    }

    void UseTls() {
        ASSERT_TRUE(cert_made_);
        config_.tls_certificate = *directory_ / "cert.pem";
        config_.tls_private_key = *directory_ / "key.pem";
    }

    void StartServer() {
        auto server = SmtpServer::Start(config_, policy_);
        ASSERT_TRUE(server.has_value()) << server.error().ToString();
        server_ = std::move(*server);
    }

    CommandResult Swaks(const std::string& arguments) {
        return RunCommand("swaks --server 127.0.0.1:" + std::to_string(server_->port()) +
                          " --timeout 10 --helo client.test --from a@example.com " + arguments);
    }

    std::filesystem::path WriteFile(const std::string& name, const std::string& content) {
        const auto path = *directory_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    std::vector<std::string> Messages() {
        std::lock_guard lock(mutex_);
        return messages_;
    }
    std::vector<SmtpEnvelope> Envelopes() {
        std::lock_guard lock(mutex_);
        return envelopes_;
    }

    static inline std::filesystem::path* directory_ = nullptr;
    static inline bool cert_made_ = false;
    static inline bool swaks_found_ = false;

    SmtpServerConfig config_;
    SmtpPolicy policy_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<SmtpEnvelope> envelopes_;
    std::vector<std::string> messages_;
    bool fail_delivery_ = false;
    bool hold_first_delivery_ = false;
    bool delivery_waiting_ = false;
    int deliveries_started_ = 0;
    std::unique_ptr<SmtpServer> server_;  // last: stopped before what its callbacks use goes away
};

#define REQUIRE_SWAKS() \
    if (!swaks_found_) GTEST_SKIP() << "swaks is not installed (scripts/setup installs it)"

TEST_F(SmtpServerTest, SwaksDeliversAnAttachment) {
    REQUIRE_SWAKS();
    StartServer();
    const auto pdf = WriteFile("fax.pdf", "%PDF-1.4 a tiny test document\n");
    const CommandResult result = Swaks("--to 5551234@fax.test --attach " + pdf.string());
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("<-  250 2.0.0 Ok: queued as Q1"));
    const auto envelopes = Envelopes();
    ASSERT_EQ(envelopes.size(), 1u);
    EXPECT_EQ(envelopes[0].helo, "client.test");
    EXPECT_EQ(envelopes[0].mail_from, "a@example.com");
    EXPECT_THAT(envelopes[0].rcpt_to, ::testing::ElementsAre("5551234@fax.test"));
    EXPECT_EQ(envelopes[0].remote_address, "127.0.0.1");
    EXPECT_FALSE(envelopes[0].tls);
    const std::string message = Messages().at(0);
    EXPECT_THAT(message,
                StartsWith("Received: from client.test ([127.0.0.1])\r\n\tby fax.test (faxd) with ESMTP\r\n"
                           "\tfor <5551234@fax.test>;\r\n\t"));
    EXPECT_THAT(message, HasSubstr("JVBERi0xLjQgYSB0aW55IHRlc3QgZG9jdW1lbnQK"));  // base64 of the file
    EXPECT_THAT(message, HasSubstr("fax.pdf"));
}

TEST_F(SmtpServerTest, SwaksMessageArrivesByteForByte) {
    REQUIRE_SWAKS();
    StartServer();
    const std::string content =
        "From: a@example.com\r\nTo: 5551234@fax.test\r\nSubject: exact\r\n\r\n.a line with a dot\r\n"
        "..two dots\r\n\r\n \tspace and tab \r\nlast line\r\n";
    // With its closing dot the file is sent as it is (swaks adds a CRLF before a dot it supplies itself).
    const auto data = WriteFile("exact.eml", content + ".\r\n");
    const CommandResult result = Swaks("--to 5551234@fax.test --data " + data.string());
    ASSERT_EQ(result.status, 0) << result.output;
    const std::string message = Messages().at(0);
    const std::size_t body = message.find(" +0000\r\n");
    ASSERT_NE(body, std::string::npos) << message;
    EXPECT_EQ(message.substr(body + 8), content);
}

TEST_F(SmtpServerTest, SwaksStartTlsWithAuthPlain) {
    REQUIRE_SWAKS();
    UseTls();
    StartServer();
    const CommandResult result =
        Swaks("--to 5551234@fax.test --tls --auth PLAIN --auth-user alice --auth-password secret");
    ASSERT_EQ(result.status, 0) << result.output;
    const auto envelopes = Envelopes();
    ASSERT_EQ(envelopes.size(), 1u);
    EXPECT_TRUE(envelopes[0].tls);
    EXPECT_EQ(envelopes[0].authenticated_user, "alice");
    EXPECT_THAT(Messages().at(0), HasSubstr("with ESMTPSA"));
}

TEST_F(SmtpServerTest, SwaksWrongPasswordAndAuthWithoutTls) {
    REQUIRE_SWAKS();
    UseTls();
    StartServer();
    CommandResult result =
        Swaks("--to 1@fax.test --tls --auth LOGIN --auth-user alice --auth-password wrong");
    EXPECT_NE(result.status, 0);
    EXPECT_THAT(result.output, HasSubstr("535 5.7.8"));
    result = Swaks("--to 1@fax.test --auth PLAIN --auth-user alice --auth-password secret");
    EXPECT_NE(result.status, 0);  // not offered in plaintext
    EXPECT_TRUE(Messages().empty());
}

TEST_F(SmtpServerTest, SwaksImplicitTls) {
    REQUIRE_SWAKS();
    UseTls();
    config_.implicit_tls = true;
    StartServer();
    const CommandResult result = Swaks("--to 5551234@fax.test --tlsc");
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_TRUE(Envelopes().at(0).tls);
    EXPECT_THAT(result.output, ::testing::Not(HasSubstr("STARTTLS")));
}

TEST_F(SmtpServerTest, SwaksGetsTemporaryFailureWhenStoringFails) {
    REQUIRE_SWAKS();
    fail_delivery_ = true;
    StartServer();
    const CommandResult result = Swaks("--to 5551234@fax.test");
    EXPECT_NE(result.status, 0);
    EXPECT_THAT(result.output, HasSubstr("451 4.3.0 Cannot store the message now (spool unavailable)"));
}

TEST_F(SmtpServerTest, SwaksRefusedAtRcptTime) {
    REQUIRE_SWAKS();
    StartServer();
    const CommandResult result = Swaks("--to x@other.com");
    EXPECT_NE(result.status, 0);
    EXPECT_THAT(result.output, HasSubstr("550 5.1.1 <x@other.com>: not a fax domain"));
    EXPECT_TRUE(Messages().empty());
}

TEST_F(SmtpServerTest, FiftyConcurrentSessions) {
    StartServer();
    constexpr int kClients = 50;
    std::vector<std::future<std::string>> results;
    for (int i = 0; i < kClients; ++i) {
        results.push_back(std::async(std::launch::async, [this, i] {
            RawClient client(server_->port());
            std::string transcript = client.ReadReply();
            client.Send("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<" + std::to_string(i) +
                        "@fax.test>\r\nDATA\r\n");
            for (int reply = 0; reply < 4; ++reply) transcript += client.ReadReply();
            client.Send("client " + std::to_string(i) + "\r\n.\r\nQUIT\r\n");
            transcript += client.ReadReply();
            transcript += client.ReadReply();
            return transcript;
        }));
    }
    for (auto& result : results) {
        const std::string transcript = result.get();
        EXPECT_THAT(transcript, HasSubstr("250 2.0.0 Ok: queued as Q")) << transcript;
        EXPECT_THAT(transcript, HasSubstr("221 2.0.0 Bye")) << transcript;
    }
    const auto messages = Messages();
    ASSERT_EQ(messages.size(), static_cast<std::size_t>(kClients));
    for (int i = 0; i < kClients; ++i) {
        const std::string body = "\r\nclient " + std::to_string(i) + "\r\n";
        EXPECT_EQ(std::count_if(messages.begin(), messages.end(),
                                [&](const std::string& message) { return message.ends_with(body); }),
                  1);
    }
}

TEST_F(SmtpServerTest, SlowClientTimesOut) {
    config_.session.command_timeout = 300ms;
    config_.session.data_timeout = 300ms;
    StartServer();
    RawClient idle(server_->port());
    EXPECT_THAT(idle.ReadReply(), StartsWith("220 "));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(idle.ReadReply(), "421 4.4.2 fax.test Timeout exceeded, closing connection\r\n");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
    EXPECT_TRUE(idle.ClosedByServer());

    RawClient in_data(server_->port());
    in_data.ReadReply();
    in_data.Send("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@fax.test>\r\nDATA\r\npart of a mess");
    for (int reply = 0; reply < 4; ++reply) in_data.ReadReply();
    EXPECT_THAT(in_data.ReadReply(), StartsWith("421 4.4.2"));
    EXPECT_TRUE(Messages().empty());
}

TEST_F(SmtpServerTest, ConnectionLimit) {
    config_.max_connections = 2;
    StartServer();
    auto first = std::make_unique<RawClient>(server_->port());
    RawClient second(server_->port());
    EXPECT_THAT(first->ReadReply(), StartsWith("220 "));
    EXPECT_THAT(second.ReadReply(), StartsWith("220 "));
    RawClient third(server_->port());
    EXPECT_EQ(third.ReadReply(), "421 4.7.0 fax.test Too many connections, try again later\r\n");
    first->Send("QUIT\r\n");
    EXPECT_EQ(first->ReadReply(), "221 2.0.0 Bye\r\n");
    first.reset();
    // The slot frees once the server has seen the close; give it a moment.
    std::string greeting;
    for (int attempt = 0; attempt < 50 && !greeting.starts_with("220 "); ++attempt) {
        RawClient again(server_->port());
        greeting = again.ReadReply();
        if (!greeting.starts_with("220 ")) std::this_thread::sleep_for(20ms);
    }
    EXPECT_THAT(greeting, StartsWith("220 "));
}

// Deliver runs on the pool: one slow store must not stall another connection.
TEST_F(SmtpServerTest, SlowDeliveryDoesNotBlockOtherConnections) {
    hold_first_delivery_ = true;
    StartServer();
    const std::string transaction =
        "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@fax.test>\r\nDATA\r\nslow\r\n.\r\n";
    RawClient slow(server_->port());
    slow.ReadReply();
    slow.Send(transaction);
    {
        std::unique_lock lock(mutex_);
        ASSERT_TRUE(changed_.wait_for(lock, 5s, [this] { return delivery_waiting_; }));
    }
    RawClient fast(server_->port());
    fast.ReadReply();
    fast.Send("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<2@fax.test>\r\nDATA\r\nfast\r\n.\r\n");
    for (int reply = 0; reply < 4; ++reply) fast.ReadReply();
    EXPECT_EQ(fast.ReadReply(), "250 2.0.0 Ok: queued as Q1\r\n");
    {
        std::lock_guard lock(mutex_);
        hold_first_delivery_ = false;
        changed_.notify_all();
    }
    for (int reply = 0; reply < 4; ++reply) slow.ReadReply();
    EXPECT_EQ(slow.ReadReply(), "250 2.0.0 Ok: queued as Q2\r\n");
}

TEST_F(SmtpServerTest, StopClosesOpenConnections) {
    StartServer();
    RawClient client(server_->port());
    EXPECT_THAT(client.ReadReply(), StartsWith("220 "));
    const auto start = std::chrono::steady_clock::now();
    server_->Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_EQ(client.ReadReply(), "");
    server_->Stop();  // idempotent
}

TEST_F(SmtpServerTest, StartRefusesBadConfigurations) {
    config_.tls_certificate = "/nonexistent/cert.pem";
    auto server = SmtpServer::Start(config_, policy_);
    ASSERT_FALSE(server.has_value());
    EXPECT_EQ(server.error().code, base::ErrorCode::kInvalidArgument);
    config_.tls_private_key = "/nonexistent/key.pem";
    server = SmtpServer::Start(config_, policy_);
    ASSERT_FALSE(server.has_value());
    EXPECT_THAT(server.error().message, HasSubstr("/nonexistent/cert.pem"));
    config_.tls_certificate.clear();
    config_.tls_private_key.clear();
    config_.implicit_tls = true;
    EXPECT_FALSE(SmtpServer::Start(config_, policy_).has_value());
    config_.implicit_tls = false;
    StartServer();
    config_.port = server_->port();
    server = SmtpServer::Start(config_, policy_);
    ASSERT_FALSE(server.has_value());
    EXPECT_EQ(server.error().code, base::ErrorCode::kIo);
}

}  // namespace
}  // namespace faxd::mail
