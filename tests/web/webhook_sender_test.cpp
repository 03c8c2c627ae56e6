// WebhookSender against the real SQLite store and a real receiver (tests/web/webhook_receiver.py) that checks
// the signatures with Python's own hmac, on 127.0.0.1 ports chosen at run time.
#include "web/webhook_sender.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "process.hpp"
#include "store/store.hpp"

namespace faxd::web {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kSecret = "whsec_test_secret";

// A clock the test moves while the sender's thread reads it (base::SimulatedClock is single-threaded).
class SteppedClock final : public base::Clock {
public:
    explicit SteppedClock(base::WallTime start) : start_(start) {}
    base::TimePoint Now() const override { return base::TimePoint{base::Duration{offset_.load()}}; }
    base::WallTime WallNow() const override { return start_ + base::Duration{offset_.load()}; }
    void Advance(base::Duration step) { offset_ += step.count(); }

private:
    base::WallTime start_;
    std::atomic<base::Duration::rep> offset_{0};
};

base::WallTime RealNow() { return base::RealClock().WallNow(); }

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

struct Receiver {
    faxd::testing::ChildProcess process;
    std::uint16_t port = 0;
};

class WebhookSenderTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "faxd-webhooks-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        OpenDatabase();
        config_.poll_interval = 50ms;
        config_.retry_schedule = {100ms, 100ms, 100ms};
    }

    void TearDown() override {
        store_.reset();
        fs::remove_all(dir_);
    }

    void OpenDatabase() {
        store_.reset();
        auto opened = store::OpenStore("sqlite:" + (dir_ / "t.db").string());
        ASSERT_TRUE(opened) << opened.error().ToString();
        store_ = std::move(*opened);
    }

    core::AccountStore& accounts() { return *store_; }

    // Starts tests/web/webhook_receiver.py; port 0 lets it choose. Requests go to received.jsonl.
    std::optional<Receiver> StartReceiver(std::vector<std::string> options = {}, std::uint16_t port = 0) {
        const fs::path out = dir_ / ("receiver-" + std::to_string(++receivers_started_) + ".out");
        std::vector<std::string> argv{
            FAXD_PYTHON3, FAXD_WEBHOOK_RECEIVER, "--port", std::to_string(port), "--secret", kSecret,
            "--log",      ReceivedLog().string()};
        argv.insert(argv.end(), options.begin(), options.end());
        auto process = faxd::testing::ChildProcess::Spawn(argv, out);
        if (!process) return std::nullopt;
        std::uint16_t listening = 0;
        WaitUntil(
            [&] {
                std::istringstream text(faxd::testing::ReadFile(out));
                std::string word;
                return text >> word >> listening && word == "port" && listening != 0;
            },
            10s);
        if (listening == 0) return std::nullopt;
        return Receiver{std::move(*process), listening};
    }

    fs::path ReceivedLog() const { return dir_ / "received.jsonl"; }

    std::vector<json> Received() const {
        std::vector<json> requests;
        std::istringstream text(faxd::testing::ReadFile(ReceivedLog()));
        for (std::string line; std::getline(text, line);) {
            if (!line.empty()) requests.push_back(json::parse(line));
        }
        return requests;
    }

    std::int64_t AddWebhook(std::uint16_t port, bool enabled = true) {
        core::Webhook webhook;
        webhook.url = "http://127.0.0.1:" + std::to_string(port) + "/hooks/faxd";
        webhook.secret = kSecret;
        webhook.enabled = enabled;
        webhook.created = RealNow();
        auto id = accounts().AddWebhook(webhook);
        EXPECT_TRUE(id) << id.error().ToString();
        return id.value_or(0);
    }

    std::int64_t Queue(std::int64_t webhook, base::WallTime now, const std::string& payload = "") {
        core::WebhookDelivery delivery;
        delivery.webhook = webhook;
        delivery.event_type = "fax.completed";
        delivery.payload =
            payload.empty() ? R"({"id":17,"type":"fax.completed","fax":{"id":"out-12"}})" : payload;
        delivery.created = now;
        delivery.next_attempt_at = now;
        auto ids = accounts().QueueDeliveries({delivery});
        EXPECT_TRUE(ids && ids->size() == 1) << (ids ? "" : ids.error().ToString());
        return ids && !ids->empty() ? ids->front() : 0;
    }

    std::optional<core::WebhookDelivery> Delivery(std::int64_t webhook, std::int64_t id) {
        auto deliveries = accounts().ListDeliveries(webhook, 100);
        if (!deliveries) return std::nullopt;
        for (const auto& delivery : *deliveries) {
            if (delivery.id == id) return delivery;
        }
        return std::nullopt;
    }

    bool WaitForState(std::int64_t webhook, std::int64_t id, core::DeliveryState state,
                      std::chrono::milliseconds timeout = 10s) {
        return WaitUntil(
            [&] {
                auto delivery = Delivery(webhook, id);
                return delivery && delivery->state == state;
            },
            timeout);
    }

    bool WaitForAttempts(std::int64_t webhook, std::int64_t id, int attempts,
                         std::chrono::milliseconds timeout = 10s) {
        return WaitUntil(
            [&] {
                auto delivery = Delivery(webhook, id);
                return delivery && delivery->attempts >= attempts;
            },
            timeout);
    }

    fs::path dir_;
    std::unique_ptr<store::Store> store_;
    WebhookSenderConfig config_;
    base::RealClock clock_;
    int receivers_started_ = 0;
};

TEST(RetryDelayTest, FollowsTheDocumentedScheduleThenGivesUp) {
    const WebhookSenderConfig config;
    EXPECT_EQ(RetryDelay(config, 1), 5s);
    EXPECT_EQ(RetryDelay(config, 2), 25s);
    EXPECT_EQ(RetryDelay(config, 3), 2min);
    EXPECT_EQ(RetryDelay(config, 7), 22h);
    EXPECT_EQ(RetryDelay(config, 8), std::nullopt);
    EXPECT_EQ(RetryDelay(config, 0), std::nullopt);
}

TEST_F(WebhookSenderTest, SignedDeliveryIsVerifiedByAnIndependentReceiver) {
    auto receiver = StartReceiver();
    ASSERT_TRUE(receiver);
    const auto webhook = AddWebhook(receiver->port);
    const std::string payload = R"({"id":17,"type":"fax.completed","fax":{"id":"out-12","state":"sent"}})";
    const auto id = Queue(webhook, clock_.WallNow(), payload);

    WebhookSender sender(accounts(), clock_, config_);
    sender.Start();
    ASSERT_TRUE(WaitForState(webhook, id, core::DeliveryState::kDelivered));

    const auto requests = Received();
    ASSERT_EQ(requests.size(), 1u);
    const auto& request = requests[0];
    EXPECT_TRUE(request["signature_ok"].get<bool>()) << request["signature_error"];
    EXPECT_EQ(request["path"], "/hooks/faxd");
    EXPECT_EQ(request["body"], payload);
    EXPECT_EQ(request["headers"]["content-type"], "application/json");
    EXPECT_EQ(request["headers"]["faxd-event"], "fax.completed");
    EXPECT_EQ(request["headers"]["faxd-delivery"], std::to_string(id));
    EXPECT_EQ(request["headers"]["user-agent"], "faxd-webhooks/1");
    const auto delivery = Delivery(webhook, id);
    ASSERT_TRUE(delivery);
    EXPECT_EQ(delivery->attempts, 1);
    EXPECT_EQ(delivery->last_status, 200);
}

TEST_F(WebhookSenderTest, RefusedConnectionIsRetriedUntilTheReceiverIsUp) {
    const std::uint16_t port = faxd::testing::FreePort();
    const auto webhook = AddWebhook(port);
    const auto id = Queue(webhook, clock_.WallNow());
    config_.retry_schedule = {200ms, 200ms, 200ms, 200ms, 200ms, 200ms, 200ms, 200ms};

    WebhookSender sender(accounts(), clock_, config_);
    sender.Start();
    ASSERT_TRUE(WaitForAttempts(webhook, id, 1));
    auto failed = Delivery(webhook, id);
    EXPECT_EQ(failed->state, core::DeliveryState::kPending);
    EXPECT_EQ(failed->last_error, "connection refused");
    EXPECT_EQ(failed->last_status, 0);

    auto receiver = StartReceiver({}, port);
    ASSERT_TRUE(receiver);
    ASSERT_TRUE(WaitForState(webhook, id, core::DeliveryState::kDelivered));
    EXPECT_GE(Delivery(webhook, id)->attempts, 2);
    EXPECT_EQ(Received().size(), 1u);
}

TEST_F(WebhookSenderTest, ServerErrorIsRetried) {
    auto receiver = StartReceiver({"--fail-first", "2"});
    ASSERT_TRUE(receiver);
    const auto webhook = AddWebhook(receiver->port);
    const auto id = Queue(webhook, clock_.WallNow());

    WebhookSender sender(accounts(), clock_, config_);
    sender.Start();
    ASSERT_TRUE(WaitForState(webhook, id, core::DeliveryState::kDelivered));

    const auto requests = Received();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0]["answered"], 500);
    EXPECT_EQ(requests[1]["answered"], 500);
    EXPECT_EQ(requests[2]["answered"], 200);
    for (const auto& request : requests) {
        EXPECT_TRUE(request["signature_ok"].get<bool>());
        EXPECT_EQ(request["headers"]["faxd-delivery"], std::to_string(id));
    }
    EXPECT_EQ(Delivery(webhook, id)->attempts, 3);
}

TEST_F(WebhookSenderTest, GivesUpAfterTheLastScheduledRetry) {
    auto receiver = StartReceiver({"--fail-first", "100"});
    ASSERT_TRUE(receiver);
    const auto webhook = AddWebhook(receiver->port);
    const auto id = Queue(webhook, clock_.WallNow());
    config_.retry_schedule = {50ms, 50ms};

    WebhookSender sender(accounts(), clock_, config_);
    sender.Start();
    ASSERT_TRUE(WaitForState(webhook, id, core::DeliveryState::kFailed));
    const auto delivery = Delivery(webhook, id);
    EXPECT_EQ(delivery->attempts, 3);  // the first try and one per schedule entry
    EXPECT_EQ(delivery->last_status, 500);
    EXPECT_EQ(delivery->last_error, "HTTP 500");
    std::this_thread::sleep_for(300ms);  // and nothing more is sent
    EXPECT_EQ(Received().size(), 3u);
}

TEST_F(WebhookSenderTest, DeletedWebhookDropsItsPendingDelivery) {
    const std::uint16_t port = faxd::testing::FreePort();
    const auto webhook = AddWebhook(port);
    const auto id = Queue(webhook, clock_.WallNow());
    WebhookSender sender(accounts(), clock_, config_);
    sender.Start();
    ASSERT_TRUE(WaitForAttempts(webhook, id, 1));  // refused, waiting for the retry

    ASSERT_TRUE(accounts().DeleteWebhook(webhook).value_or(false));
    auto receiver = StartReceiver({}, port);
    ASSERT_TRUE(receiver);
    sender.Wake();
    std::this_thread::sleep_for(500ms);  // several retry periods
    EXPECT_TRUE(Received().empty());
    auto left = accounts().DueDeliveries(clock_.WallNow() + 1h, 10);
    ASSERT_TRUE(left);
    EXPECT_TRUE(left->empty());
}

TEST_F(WebhookSenderTest, DisabledWebhookHoldsItsDeliveries) {
    auto receiver = StartReceiver();
    ASSERT_TRUE(receiver);
    const auto webhook = AddWebhook(receiver->port, /*enabled=*/false);
    const auto id = Queue(webhook, clock_.WallNow());
    WebhookSender sender(accounts(), clock_, config_);
    sender.Start();
    std::this_thread::sleep_for(300ms);  // several polls
    EXPECT_TRUE(Received().empty());
    const auto delivery = Delivery(webhook, id);
    ASSERT_TRUE(delivery);
    EXPECT_EQ(delivery->state, core::DeliveryState::kPending);
    EXPECT_EQ(delivery->attempts, 0);
}

TEST_F(WebhookSenderTest, RestartResumesPendingDeliveries) {
    const std::uint16_t port = faxd::testing::FreePort();
    const auto webhook = AddWebhook(port);
    const auto id = Queue(webhook, clock_.WallNow());
    {
        WebhookSender sender(accounts(), clock_, config_);
        sender.Start();
        ASSERT_TRUE(WaitForAttempts(webhook, id, 1));
        sender.Stop();
    }
    OpenDatabase();  // as after a restart of faxd
    ASSERT_EQ(Delivery(webhook, id)->state, core::DeliveryState::kPending);
    auto receiver = StartReceiver({}, port);
    ASSERT_TRUE(receiver);

    WebhookSender restarted(accounts(), clock_, config_);
    restarted.Start();
    ASSERT_TRUE(WaitForState(webhook, id, core::DeliveryState::kDelivered));
    EXPECT_EQ(Received().size(), 1u);
}

TEST_F(WebhookSenderTest, SlowReceiverDoesNotHoldUpOthers) {
    auto slow = StartReceiver({"--delay", "5"});
    ASSERT_TRUE(slow);
    auto fast = StartReceiver();
    ASSERT_TRUE(fast);
    const auto slow_hook = AddWebhook(slow->port);
    const auto fast_hook = AddWebhook(fast->port);
    // The slow one is older, so it is started first.
    const auto slow_id = Queue(slow_hook, clock_.WallNow());
    const auto fast_id = Queue(fast_hook, clock_.WallNow());
    config_.request_timeout = 1s;
    config_.retry_schedule = {1h};

    WebhookSender sender(accounts(), clock_, config_);
    const auto start = std::chrono::steady_clock::now();
    sender.Start();
    ASSERT_TRUE(WaitForState(fast_hook, fast_id, core::DeliveryState::kDelivered));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);
    ASSERT_TRUE(WaitForAttempts(slow_hook, slow_id, 1, 5s));
    const auto slow_delivery = Delivery(slow_hook, slow_id);
    EXPECT_EQ(slow_delivery->state, core::DeliveryState::kPending);
    EXPECT_EQ(slow_delivery->last_error, "timeout after 1 s");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(WebhookSenderTest, StaleTimestampIsRefusedByTheReceiver) {
    auto receiver = StartReceiver();
    ASSERT_TRUE(receiver);
    SteppedClock an_hour_late(RealNow() - 1h);
    const auto webhook = AddWebhook(receiver->port);
    const auto id = Queue(webhook, an_hour_late.WallNow());

    WebhookSender sender(accounts(), an_hour_late, config_);
    sender.Start();
    ASSERT_TRUE(WaitForAttempts(webhook, id, 1));
    const auto requests = Received();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_FALSE(requests[0]["signature_ok"].get<bool>());
    EXPECT_EQ(requests[0]["signature_error"], "timestamp too old");
    EXPECT_EQ(Delivery(webhook, id)->last_error, "HTTP 401");
}

TEST_F(WebhookSenderTest, RetriesFollowTheStoreClockWithTheDefaultSchedule) {
    SteppedClock clock(RealNow());
    const std::uint16_t port = faxd::testing::FreePort();
    const auto webhook = AddWebhook(port);
    const auto id = Queue(webhook, clock.WallNow());
    config_ = WebhookSenderConfig{};  // 5 s, 25 s, ...; polling once a second

    WebhookSender sender(accounts(), clock, config_);
    sender.Start();
    ASSERT_TRUE(WaitForAttempts(webhook, id, 1));
    EXPECT_EQ(Delivery(webhook, id)->next_attempt_at, clock.WallNow() + 5s);

    auto receiver = StartReceiver({}, port);
    ASSERT_TRUE(receiver);
    clock.Advance(4s);
    sender.Wake();
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(Delivery(webhook, id)->attempts, 1);  // not due yet
    clock.Advance(1s);
    sender.Wake();
    ASSERT_TRUE(WaitForState(webhook, id, core::DeliveryState::kDelivered, 2s));
    EXPECT_TRUE(Received().at(0)["signature_ok"].get<bool>());
}

}  // namespace
}  // namespace faxd::web
