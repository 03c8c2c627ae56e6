// MailOutbox against a real SMTP server: tests/support/smtp_sink.py (aiosmtpd) on 127.0.0.1, started per
// test with the behaviour it needs (TLS, AUTH, refusals, temporary failures), and stopped or started
// later to play an unreachable relay. Certificates are made with openssl once per run.
#include "mail/mail_outbox.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "process.hpp"

namespace faxd::mail {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;
using faxd::testing::ChildProcess;

std::string ReadBytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return done();
}

std::vector<std::string> FileNames(const fs::path& dir) {
    std::vector<std::string> names;
    if (!fs::exists(dir)) return names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Real time, moved forward on demand; thread-safe (the sender thread reads it).
class JumpClock final : public base::Clock {
public:
    base::TimePoint Now() const override { return real_.Now() + base::Duration(offset_.load()); }
    base::WallTime WallNow() const override { return real_.WallNow() + base::Duration(offset_.load()); }
    void Jump(base::Duration step) { offset_ += step.count(); }

private:
    base::RealClock real_;
    std::atomic<base::Duration::rep> offset_{0};
};

// What the outbox told, for the assertions.
class Recorder {
public:
    OutboxEvents Events() {
        OutboxEvents events;
        events.relay_unreachable = [this](const std::string& error) {
            std::lock_guard lock(mutex_);
            unreachable_.push_back(error);
        };
        events.relay_back = [this] {
            std::lock_guard lock(mutex_);
            ++back_;
        };
        events.given_up = [this](const std::string& id, const std::string& error) {
            std::lock_guard lock(mutex_);
            given_up_.emplace_back(id, error);
        };
        events.sent = [this](const std::string& id) {
            std::lock_guard lock(mutex_);
            sent_.push_back(id);
        };
        return events;
    }
    std::vector<std::string> unreachable() const {
        std::lock_guard lock(mutex_);
        return unreachable_;
    }
    int back() const {
        std::lock_guard lock(mutex_);
        return back_;
    }
    std::vector<std::pair<std::string, std::string>> given_up() const {
        std::lock_guard lock(mutex_);
        return given_up_;
    }
    std::vector<std::string> sent() const {
        std::lock_guard lock(mutex_);
        return sent_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> unreachable_;
    int back_ = 0;
    std::vector<std::pair<std::string, std::string>> given_up_;
    std::vector<std::string> sent_;
};

struct StoredMail {
    json meta;
    std::string bytes;
};

class MailOutboxTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string pattern = (fs::temp_directory_path() / "faxd-outbox-certs-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        certs_ = pattern;
        const auto probe = faxd::testing::RunProgram({FAXD_SYSTEM_PYTHON3, "-c", "import aiosmtpd"}, 30s,
                                                     certs_ / "probe.log");
        have_sink_ = probe.status == 0;
        for (const char* name : {"relay", "other"}) {
            const auto made = faxd::testing::RunProgram(
                {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", std::string("/CN=") + name,
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout",
                 (certs_ / (std::string(name) + ".key")).string(), "-out",
                 (certs_ / (std::string(name) + ".pem")).string()},
                60s, certs_ / "openssl.log");
            ASSERT_EQ(made.status, 0) << faxd::testing::ReadFile(certs_ / "openssl.log");
        }
    }
    static void TearDownTestSuite() { fs::remove_all(certs_); }

    void SetUp() override {
        if (!have_sink_) GTEST_SKIP() << "no python3-aiosmtpd for " << FAXD_SYSTEM_PYTHON3;
        std::string pattern = (fs::temp_directory_path() / "faxd-outbox-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        outbox_.reset();
        sink_.reset();
        if (!dir_.empty() && !::testing::Test::HasFailure()) fs::remove_all(dir_);
        if (::testing::Test::HasFailure()) std::cerr << "kept " << dir_ << " for a look\n";
    }

    // Starts the sink; returns its port (0 when it did not come up).
    std::uint16_t StartSink(std::vector<std::string> options, std::uint16_t port = 0) {
        const fs::path log = dir_ / ("sink-" + std::to_string(++sinks_started_) + ".log");
        std::vector<std::string> argv{FAXD_SYSTEM_PYTHON3,  FAXD_SMTP_SINK, "--port",
                                      std::to_string(port), "--maildir",    (dir_ / "maildir").string()};
        argv.insert(argv.end(), options.begin(), options.end());
        sink_ = ChildProcess::Spawn(argv, log);
        if (!sink_) return 0;
        std::string text;
        WaitUntil(
            [&] {
                text = faxd::testing::ReadFile(log);
                return text.find('\n') != std::string::npos;
            },
            10s);
        std::istringstream words(text);
        std::string word;
        int bound = 0;
        if (!(words >> word >> bound) || word != "READY") {
            ADD_FAILURE() << "sink did not start: " << text;
            return 0;
        }
        return static_cast<std::uint16_t>(bound);
    }
    void StopSink() {
        if (!sink_) return;
        sink_->Signal(SIGTERM);
        EXPECT_EQ(sink_->Wait(10s), 0);
        sink_.reset();
    }
    std::vector<std::string> TlsOptions() const {
        return {"--tls", (certs_ / "relay.pem").string(), (certs_ / "relay.key").string()};
    }

    OutboxConfig Config(std::uint16_t port) const {
        OutboxConfig config;
        config.directory = dir_ / "outbox";
        config.relay.host = "127.0.0.1";
        config.relay.port = port;
        config.relay.timeout = 10s;
        config.relay.helo_name = "faxd.test";
        config.backoff = {100ms};
        config.max_parallel = 1;
        return config;
    }
    void Open(OutboxConfig config, const base::Clock* clock = nullptr) {
        auto opened = clock != nullptr ? MailOutbox::Open(std::move(config), events_.Events(), *clock)
                                       : MailOutbox::Open(std::move(config), events_.Events());
        ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
        outbox_ = std::move(*opened);
    }
    std::string Enqueue(const std::vector<std::string>& recipients, const std::string& message,
                        const std::string& from = "faxd@example.com") {
        auto id = outbox_->Enqueue(from, recipients, message);
        EXPECT_TRUE(id.has_value()) << id.error().ToString();
        return id.value_or("");
    }

    std::vector<StoredMail> Stored() const {
        std::vector<StoredMail> stored;
        for (const auto& key : FileNames(dir_ / "maildir" / "new")) {
            stored.push_back({json::parse(ReadBytes(dir_ / "maildir.meta" / (key + ".json"))),
                              ReadBytes(dir_ / "maildir" / "new" / key)});
        }
        return stored;
    }
    bool WaitStored(std::size_t count) {
        return WaitUntil([&] { return FileNames(dir_ / "maildir" / "new").size() >= count; });
    }
    bool WaitSent(std::size_t count) {
        return WaitUntil([&] { return outbox_->stats().sent >= count; });
    }
    std::vector<std::string> Queued() const { return FileNames(dir_ / "outbox" / "queue"); }
    std::vector<std::string> Failed() const { return FileNames(dir_ / "outbox" / "failed"); }

    static inline fs::path certs_;
    static inline bool have_sink_ = false;
    fs::path dir_;
    int sinks_started_ = 0;
    JumpClock clock_;  // outlives outbox_
    std::optional<ChildProcess> sink_;
    Recorder events_;
    std::unique_ptr<MailOutbox> outbox_;
};

std::string Message(const std::string& subject, const std::string& body = "Hello.\r\n") {
    return "From: faxd@example.com\r\nTo: anna@example.com\r\nSubject: " + subject + "\r\n\r\n" + body;
}

TEST_F(MailOutboxTest, PlainDeliveryIsByteExact) {
    const std::uint16_t port = StartSink({});
    ASSERT_NE(port, 0);
    Open(Config(port));
    // Lines that need dot-stuffing, 8-bit bytes, a long line.
    const std::string message = Message("byte exact",
                                        ".\r\n..two dots\r\n.leading dot\r\nGr\xc3\xbc\xc3\x9f"
                                        "e\r\n" +
                                            std::string(900, 'x') + "\r\nlast line\r\n");
    const std::string id = Enqueue({"anna@example.com", "bob@example.org"}, message);
    EXPECT_EQ(outbox_->stats().queued, 1u);
    EXPECT_EQ(Queued(), (std::vector<std::string>{id + ".eml", id + ".json"}));
    outbox_->Start();
    ASSERT_TRUE(WaitSent(1));

    const auto stored = Stored();
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_TRUE(stored[0].bytes == message) << stored[0].bytes;
    EXPECT_EQ(stored[0].meta["mail_from"], "faxd@example.com");
    EXPECT_EQ(stored[0].meta["rcpt_tos"], (json{"anna@example.com", "bob@example.org"}));
    EXPECT_EQ(stored[0].meta["tls"], false);
    EXPECT_TRUE(Queued().empty());
    EXPECT_TRUE(Failed().empty());
    const auto stats = outbox_->stats();
    EXPECT_EQ(stats.queued, 0u);
    EXPECT_EQ(stats.sent, 1u);
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_FALSE(stats.oldest_queued);
    EXPECT_EQ(events_.sent(), std::vector<std::string>{id});
    EXPECT_TRUE(events_.unreachable().empty());
}

TEST_F(MailOutboxTest, OldestFirstAndLineEndsMadeCrlf) {
    const std::uint16_t port = StartSink({});
    ASSERT_NE(port, 0);
    Open(Config(port));
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(
            Enqueue({"anna@example.com"}, "Subject: " + std::to_string(i) + "\n\nbare\nline ends\rhere"));
        std::this_thread::sleep_for(2ms);  // ids are per millisecond
    }
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    ASSERT_TRUE(outbox_->stats().oldest_queued);
    outbox_->Start();
    ASSERT_TRUE(WaitSent(3));
    const auto stored = Stored();
    ASSERT_EQ(stored.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(stored[static_cast<std::size_t>(i)].bytes,
                  "Subject: " + std::to_string(i) + "\r\n\r\nbare\r\nline ends\r\nhere\r\n");
    }
    EXPECT_EQ(events_.sent(), ids);
}

TEST_F(MailOutboxTest, NullSender) {
    const std::uint16_t port = StartSink({});
    ASSERT_NE(port, 0);
    Open(Config(port));
    Enqueue({"anna@example.com"}, Message("refusal"), "");
    outbox_->Start();
    ASSERT_TRUE(WaitSent(1));
    EXPECT_EQ(Stored().at(0).meta["mail_from"], "<>");
}

TEST_F(MailOutboxTest, StartTlsWithAuthVerifiedAgainstCaFile) {
    auto options = TlsOptions();
    options.insert(options.end(), {"--require-tls", "--auth", "relay:s3cret"});
    const std::uint16_t port = StartSink(options);
    ASSERT_NE(port, 0);
    OutboxConfig config = Config(port);
    config.relay.tls = SmtpRelay::Tls::kStartTls;
    config.relay.ca_file = certs_ / "relay.pem";
    config.relay.user = "relay";
    config.relay.password = "s3cret";
    Open(config);
    const std::string message = Message("over STARTTLS");
    Enqueue({"anna@example.com"}, message);
    outbox_->Start();
    ASSERT_TRUE(WaitSent(1)) << outbox_->stats().last_error;
    const auto stored = Stored();
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].bytes, message);
    EXPECT_EQ(stored[0].meta["tls"], true);
    EXPECT_EQ(stored[0].meta["auth"], "relay");
}

TEST_F(MailOutboxTest, WrongPasswordIsARelayProblem) {
    auto options = TlsOptions();
    options.insert(options.end(), {"--require-tls", "--auth", "relay:s3cret"});
    const std::uint16_t port = StartSink(options);
    ASSERT_NE(port, 0);
    OutboxConfig config = Config(port);
    config.relay.tls = SmtpRelay::Tls::kStartTls;
    config.relay.ca_file = certs_ / "relay.pem";
    config.relay.user = "relay";
    config.relay.password = "wrong";
    Open(config);
    Enqueue({"anna@example.com"}, Message("bad password"));
    outbox_->Start();
    ASSERT_TRUE(WaitUntil([&] { return !events_.unreachable().empty(); }));
    EXPECT_NE(events_.unreachable()[0].find("AUTH"), std::string::npos) << events_.unreachable()[0];
    EXPECT_EQ(outbox_->stats().queued, 1u);
    EXPECT_TRUE(events_.given_up().empty());

    SmtpRelay fixed = config.relay;
    fixed.password = "s3cret";
    outbox_->SetRelay(fixed);
    ASSERT_TRUE(WaitSent(1)) << outbox_->stats().last_error;
    EXPECT_EQ(events_.back(), 1);
}

TEST_F(MailOutboxTest, UnverifiedCertificateIsTemporaryAndVerifyOffDelivers) {
    const std::uint16_t port = StartSink(TlsOptions());
    ASSERT_NE(port, 0);
    OutboxConfig config = Config(port);
    config.relay.tls = SmtpRelay::Tls::kStartTls;
    config.relay.ca_file = certs_ / "other.pem";  // not who signed the relay's certificate
    Open(config);
    const std::string message = Message("needs a trusted relay");
    const std::string id = Enqueue({"anna@example.com"}, message);
    outbox_->Start();
    ASSERT_TRUE(WaitUntil([&] { return !events_.unreachable().empty(); }));
    EXPECT_NE(events_.unreachable()[0].find("certificate"), std::string::npos) << events_.unreachable()[0];
    std::this_thread::sleep_for(400ms);  // a few backoffs: still queued, nothing given up
    EXPECT_EQ(events_.unreachable().size(), 1u);
    EXPECT_EQ(outbox_->stats().queued, 1u);
    EXPECT_TRUE(outbox_->stats().relay_down);
    EXPECT_TRUE(events_.given_up().empty());
    EXPECT_TRUE(Stored().empty());

    outbox_.reset();
    config.relay.verify_certificate = false;
    Open(config);
    EXPECT_EQ(outbox_->stats().queued, 1u);
    outbox_->Start();
    ASSERT_TRUE(WaitSent(1)) << outbox_->stats().last_error;
    ASSERT_EQ(Stored().size(), 1u);
    EXPECT_EQ(Stored()[0].bytes, message);
    EXPECT_EQ(Stored()[0].meta["tls"], true);
    EXPECT_EQ(events_.sent(), std::vector<std::string>{id});
}

TEST_F(MailOutboxTest, StartTlsRequiredButNotOffered) {
    const std::uint16_t port = StartSink({});
    ASSERT_NE(port, 0);
    OutboxConfig config = Config(port);
    config.relay.tls = SmtpRelay::Tls::kStartTls;
    Open(config);
    Enqueue({"anna@example.com"}, Message("never in the clear"));
    outbox_->Start();
    ASSERT_TRUE(WaitUntil([&] { return !events_.unreachable().empty(); }));
    EXPECT_EQ(outbox_->stats().queued, 1u);
    EXPECT_TRUE(Stored().empty());
}

TEST_F(MailOutboxTest, ImplicitTls) {
    auto options = TlsOptions();
    options.insert(options.end(), {"--implicit-tls", "--auth", "relay:s3cret"});
    const std::uint16_t port = StartSink(options);
    ASSERT_NE(port, 0);
    OutboxConfig config = Config(port);
    config.relay.tls = SmtpRelay::Tls::kImplicit;
    config.relay.ca_file = certs_ / "relay.pem";
    config.relay.user = "relay";
    config.relay.password = "s3cret";
    Open(config);
    const std::string message = Message("smtps");
    Enqueue({"anna@example.com"}, message);
    outbox_->Start();
    ASSERT_TRUE(WaitSent(1)) << outbox_->stats().last_error;
    ASSERT_EQ(Stored().size(), 1u);
    EXPECT_EQ(Stored()[0].bytes, message);
    EXPECT_EQ(Stored()[0].meta["tls"], true);
    EXPECT_EQ(Stored()[0].meta["auth"], "relay");
}

TEST_F(MailOutboxTest, RelayDownQueuesThenDeliversWhenItComesBack) {
    const std::uint16_t port = faxd::testing::FreePort();
    OutboxConfig config = Config(port);
    config.max_parallel = 3;
    Open(config);
    outbox_->Start();
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i)
        ids.push_back(Enqueue({"anna@example.com"}, Message("while down " + std::to_string(i))));
    ASSERT_TRUE(WaitUntil([&] { return !events_.unreachable().empty(); }));
    std::this_thread::sleep_for(500ms);  // several probes at 100 ms
    EXPECT_EQ(events_.unreachable().size(), 1u) << "once per outage";
    EXPECT_NE(events_.unreachable()[0].find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << events_.unreachable()[0];
    auto stats = outbox_->stats();
    EXPECT_EQ(stats.queued, 3u);
    EXPECT_TRUE(stats.relay_down);
    EXPECT_FALSE(stats.last_error.empty());
    ASSERT_TRUE(stats.oldest_queued);
    EXPECT_EQ(events_.back(), 0);

    ASSERT_EQ(StartSink({}, port), port);
    ASSERT_TRUE(WaitSent(3)) << outbox_->stats().last_error;
    EXPECT_EQ(events_.back(), 1);
    EXPECT_EQ(events_.unreachable().size(), 1u);
    EXPECT_FALSE(outbox_->stats().relay_down);
    EXPECT_EQ(Stored().size(), 3u);
    EXPECT_TRUE(Queued().empty());
}

TEST_F(MailOutboxTest, RelayGoesAwayAndComesBack) {
    const std::uint16_t port = StartSink({});
    ASSERT_NE(port, 0);
    Open(Config(port));
    outbox_->Start();
    Enqueue({"anna@example.com"}, Message("before"));
    ASSERT_TRUE(WaitSent(1));
    StopSink();
    Enqueue({"anna@example.com"}, Message("during"));
    ASSERT_TRUE(WaitUntil([&] { return !events_.unreachable().empty(); }));
    EXPECT_EQ(outbox_->stats().queued, 1u);
    ASSERT_EQ(StartSink({}, port), port);
    ASSERT_TRUE(WaitSent(2));
    EXPECT_EQ(events_.back(), 1);
    ASSERT_EQ(Stored().size(), 2u);
    EXPECT_EQ(Stored()[1].bytes, Message("during"));
}

TEST_F(MailOutboxTest, RestartKeepsTheQueueAndDeliversLater) {
    const std::uint16_t port = faxd::testing::FreePort();
    Open(Config(port));
    outbox_->Start();
    const std::string first = Enqueue({"anna@example.com"}, Message("first"));
    const std::string second = Enqueue({"bob@example.com"}, Message("second"));
    ASSERT_TRUE(WaitUntil([&] { return !events_.unreachable().empty(); }));
    outbox_.reset();  // stops and closes, like a faxd shutdown while the relay is down

    EXPECT_EQ(Queued(),
              (std::vector<std::string>{first + ".eml", first + ".json", second + ".eml", second + ".json"}));
    const json state = json::parse(ReadBytes(dir_ / "outbox" / "queue" / (first + ".json")));
    EXPECT_GE(state["attempts"].get<int>(), 1);
    EXPECT_FALSE(state["last_error"].get<std::string>().empty());
    EXPECT_EQ(state["recipients"], json{"anna@example.com"});

    ASSERT_EQ(StartSink({}, port), port);
    Open(Config(port));
    EXPECT_EQ(outbox_->stats().queued, 2u);
    outbox_->Start();
    ASSERT_TRUE(WaitSent(2)) << outbox_->stats().last_error;
    const auto stored = Stored();
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[0].bytes, Message("first"));
    EXPECT_EQ(stored[1].meta["rcpt_tos"], json{"bob@example.com"});
    EXPECT_TRUE(Queued().empty());
}

TEST_F(MailOutboxTest, RestartKeepsTheBackoff) {
    const std::uint16_t port = faxd::testing::FreePort();
    OutboxConfig config = Config(port);
    config.backoff = {std::chrono::hours{1}};
    Open(config, &clock_);
    outbox_->Start();
    Enqueue({"anna@example.com"}, Message("waits an hour"));
    ASSERT_TRUE(WaitUntil([&] { return !events_.unreachable().empty(); }));
    outbox_.reset();

    ASSERT_EQ(StartSink({}, port), port);
    Open(config, &clock_);
    outbox_->Start();
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(outbox_->stats().sent, 0u) << "the next attempt is an hour away, also after a restart";
    clock_.Jump(std::chrono::hours{1});
    ASSERT_TRUE(WaitSent(1)) << outbox_->stats().last_error;  // noticed within a second, without Wake()
}

TEST_F(MailOutboxTest, WakeRetriesNow) {
    const std::uint16_t port = faxd::testing::FreePort();
    OutboxConfig config = Config(port);
    config.backoff = {std::chrono::hours{1}};
    Open(config, &clock_);
    outbox_->Start();
    Enqueue({"anna@example.com"}, Message("wake"));
    ASSERT_TRUE(WaitUntil([&] { return !events_.unreachable().empty(); }));
    ASSERT_EQ(StartSink({}, port), port);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(outbox_->stats().sent, 0u);
    outbox_->Wake();
    ASSERT_TRUE(WaitSent(1)) << outbox_->stats().last_error;
    EXPECT_EQ(events_.back(), 1);
}

TEST_F(MailOutboxTest, StopCutsOffAStuckTransferAndStartResumes) {
    // A relay that takes the connection but never says a word.
    const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(silent, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(silent, 8), 0);
    ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
    OutboxConfig config = Config(ntohs(address.sin_port));
    config.relay.timeout = 30s;
    Open(config);
    outbox_->Start();
    const std::string message = Message("after a stuck relay");
    Enqueue({"anna@example.com"}, message);
    std::this_thread::sleep_for(300ms);  // connected, waiting for a greeting
    const auto stop_started = std::chrono::steady_clock::now();
    outbox_->Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 2s) << "Stop does not wait for the timeout";
    ::close(silent);
    EXPECT_EQ(outbox_->stats().queued, 1u);

    const std::uint16_t port = StartSink({});
    ASSERT_NE(port, 0);
    SmtpRelay relay = config.relay;
    relay.port = port;
    outbox_->SetRelay(relay);
    outbox_->Start();
    ASSERT_TRUE(WaitSent(1)) << outbox_->stats().last_error;
    EXPECT_EQ(Stored().at(0).bytes, message);
}

TEST_F(MailOutboxTest, RefusedRecipientGoesToFailed) {
    const std::uint16_t port = StartSink({"--reject-rcpt", "^nobody@"});
    ASSERT_NE(port, 0);
    Open(Config(port));
    const std::string message = Message("to nobody");
    const std::string id = Enqueue({"nobody@example.com"}, message);
    outbox_->Start();
    ASSERT_TRUE(WaitUntil([&] { return !events_.given_up().empty(); }));
    const auto given_up = events_.given_up();
    ASSERT_EQ(given_up.size(), 1u);
    EXPECT_EQ(given_up[0].first, id);
    EXPECT_NE(given_up[0].second.find("550"), std::string::npos) << given_up[0].second;
    EXPECT_NE(given_up[0].second.find("nobody@example.com"), std::string::npos) << given_up[0].second;
    EXPECT_TRUE(Queued().empty());
    EXPECT_EQ(Failed(), (std::vector<std::string>{id + ".eml", id + ".json"}));
    EXPECT_EQ(ReadBytes(dir_ / "outbox" / "failed" / (id + ".eml")), message);
    const json record = json::parse(ReadBytes(dir_ / "outbox" / "failed" / (id + ".json")));
    ASSERT_EQ(record["refused"].size(), 1u);
    EXPECT_EQ(record["refused"][0]["recipient"], "nobody@example.com");
    EXPECT_TRUE(Stored().empty());
    const auto stats = outbox_->stats();
    EXPECT_EQ(stats.failed, 1u);
    EXPECT_EQ(stats.sent, 0u);
    EXPECT_EQ(stats.queued, 0u);
    EXPECT_TRUE(events_.unreachable().empty()) << "a refusal is no outage";
}

TEST_F(MailOutboxTest, PartialRefusalDeliversToTheOthers) {
    const std::uint16_t port = StartSink({"--reject-rcpt", "^nobody@"});
    ASSERT_NE(port, 0);
    Open(Config(port));
    const std::string id =
        Enqueue({"anna@example.com", "nobody@example.com", "bob@example.com"}, Message("partly refused"));
    outbox_->Start();
    ASSERT_TRUE(WaitSent(1));
    const auto stored = Stored();
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].meta["rcpt_tos"], (json{"anna@example.com", "bob@example.com"}));
    ASSERT_EQ(events_.given_up().size(), 1u);
    EXPECT_NE(events_.given_up()[0].second.find("nobody@example.com"), std::string::npos);
    EXPECT_EQ(events_.given_up()[0].second.find("anna@"), std::string::npos);
    const json record = json::parse(ReadBytes(dir_ / "outbox" / "failed" / (id + ".json")));
    EXPECT_EQ(record["delivered"], (json{"anna@example.com", "bob@example.com"}));
    EXPECT_EQ(record["refused"][0]["recipient"], "nobody@example.com");
    EXPECT_TRUE(Queued().empty());
    EXPECT_EQ(outbox_->stats().failed, 1u);
}

TEST_F(MailOutboxTest, TemporaryRefusalIsRetried) {
    const std::uint16_t port = StartSink({"--fail-first", "2"});
    ASSERT_NE(port, 0);
    Open(Config(port));
    const std::string message = Message("deferred twice");
    Enqueue({"anna@example.com"}, message);
    outbox_->Start();
    ASSERT_TRUE(WaitSent(1));
    ASSERT_EQ(Stored().size(), 1u);
    EXPECT_EQ(Stored()[0].bytes, message);
    EXPECT_NE(outbox_->stats().last_error.find("451"), std::string::npos) << outbox_->stats().last_error;
    EXPECT_TRUE(events_.unreachable().empty()) << "the relay answered: no outage";
    EXPECT_TRUE(events_.given_up().empty());
    const std::string log = faxd::testing::ReadFile(dir_ / "sink-1.log");
    std::size_t deferred = 0;
    for (auto at = log.find("DEFERRED"); at != std::string::npos; at = log.find("DEFERRED", at + 1))
        ++deferred;
    EXPECT_EQ(deferred, 2u) << log;
}

TEST_F(MailOutboxTest, GivesUpAfterTheLimit) {
    const std::uint16_t port = StartSink({"--fail-first", "1000"});
    ASSERT_NE(port, 0);
    OutboxConfig config = Config(port);
    config.give_up_after = 500ms;
    Open(config);
    const std::string id = Enqueue({"anna@example.com"}, Message("never taken"));
    outbox_->Start();
    ASSERT_TRUE(WaitUntil([&] { return !events_.given_up().empty(); }));
    EXPECT_EQ(events_.given_up()[0].first, id);
    EXPECT_NE(events_.given_up()[0].second.find("given up after"), std::string::npos)
        << events_.given_up()[0].second;
    EXPECT_NE(events_.given_up()[0].second.find("451"), std::string::npos) << events_.given_up()[0].second;
    EXPECT_TRUE(Queued().empty());
    EXPECT_EQ(Failed(), (std::vector<std::string>{id + ".eml", id + ".json"}));
}

TEST_F(MailOutboxTest, GivesUpOldMailDuringAnOutage) {
    const std::uint16_t port = faxd::testing::FreePort();
    OutboxConfig config = Config(port);
    config.give_up_after = 300ms;
    Open(config);
    outbox_->Start();
    Enqueue({"anna@example.com"}, Message("old"));
    Enqueue({"bob@example.com"}, Message("old too"));
    ASSERT_TRUE(WaitUntil([&] { return events_.given_up().size() == 2; }));
    EXPECT_NE(events_.given_up()[1].second.find("relay unreachable"), std::string::npos)
        << events_.given_up()[1].second;
    EXPECT_TRUE(Queued().empty());
    EXPECT_EQ(Failed().size(), 4u);
    EXPECT_EQ(outbox_->stats().failed, 2u);
}

TEST_F(MailOutboxTest, EnqueueRefusesBadInput) {
    Open(Config(25));
    auto refused = [&](const std::string& from, const std::vector<std::string>& to,
                       const std::string& message) {
        auto id = outbox_->Enqueue(from, to, message);
        return !id && id.error().code == base::ErrorCode::kInvalidArgument;
    };
    EXPECT_TRUE(refused("faxd@example.com", {}, "x"));
    EXPECT_TRUE(refused("faxd@example.com", {"anna@example.com"}, ""));
    EXPECT_TRUE(refused("faxd@example.com", {"anna@example.com>\r\nDATA"}, "x"));
    EXPECT_TRUE(refused("faxd@example.com", {"anna @example.com"}, "x"));
    EXPECT_TRUE(refused("faxd <x>", {"anna@example.com"}, "x"));
    EXPECT_TRUE(Queued().empty());
}

TEST_F(MailOutboxTest, OneOutboxPerDirectory) {
    Open(Config(25));
    auto second = MailOutbox::Open(Config(25));
    ASSERT_FALSE(second.has_value());
    EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
    outbox_.reset();
    EXPECT_TRUE(MailOutbox::Open(Config(25)).has_value()) << "the lock goes with the outbox";
}

TEST_F(MailOutboxTest, OpenCleansUpAfterACrash) {
    const fs::path queue = dir_ / "outbox" / "queue";
    const fs::path failed = dir_ / "outbox" / "failed";
    fs::create_directories(queue);
    fs::create_directories(failed);
    auto write = [](const fs::path& path, const std::string& text) {
        std::ofstream(path, std::ios::binary) << text;
    };
    // A whole message, an enqueue cut off after the .eml, a removal cut off after the .eml, a temp file,
    // and a state file that is not JSON.
    write(queue / "00000000000001-aaaaaaaa.eml", Message("whole"));
    write(queue / "00000000000001-aaaaaaaa.json",
          R"({"version":1,"envelope_from":"faxd@example.com","recipients":["anna@example.com"],)"
          R"("delivered":[],"created_ms":1,"attempts":3,"next_attempt_ms":2,"last_error":"x"})");
    write(queue / "00000000000002-bbbbbbbb.eml", Message("half enqueued"));
    write(queue / "00000000000003-cccccccc.json", "{}");
    write(queue / ".00000000000004-dddddddd.eml.tmpXYZ123", "partial");
    write(queue / "00000000000005-eeeeeeee.eml", Message("broken state"));
    write(queue / "00000000000005-eeeeeeee.json", "{not json");
    Open(Config(25));
    EXPECT_EQ(outbox_->stats().queued, 1u);
    EXPECT_EQ(Queued(),
              (std::vector<std::string>{"00000000000001-aaaaaaaa.eml", "00000000000001-aaaaaaaa.json"}));
    EXPECT_EQ(Failed(),
              (std::vector<std::string>{"00000000000005-eeeeeeee.eml", "00000000000005-eeeeeeee.json"}));
    EXPECT_EQ(ReadBytes(failed / "00000000000005-eeeeeeee.eml"), Message("broken state"));
}

}  // namespace
}  // namespace faxd::mail
