#include "web/webhook_sender.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "web/credentials.hpp"

namespace faxd::web {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// "10 s", "0.25 s": how long a timeout was, for the delivery log.
std::string FormatSeconds(milliseconds span) {
    if (span.count() % 1000 == 0) return std::to_string(span.count() / 1000) + " s";
    char text[32];
    std::snprintf(text, sizeof text, "%g s", static_cast<double>(span.count()) / 1000.0);
    return text;
}

std::int64_t UnixSeconds(base::WallTime time) {
    return duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

// Receivers' answers are not used; reading them keeps the connection healthy.
size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

// One POST in flight and what it needs to stay alive until libcurl is done with it.
struct Delivery {
    core::WebhookDelivery delivery;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    char error[CURL_ERROR_SIZE] = {};

    ~Delivery() {
        curl_slist_free_all(headers);
        curl_easy_cleanup(easy);
    }
};

// What the delivery log says about a try that got no HTTP answer.
std::string DescribeTransportFailure(CURLcode code, const Delivery& transfer,
                                     const WebhookSenderConfig& config) {
    long os_errno = 0;
    curl_easy_getinfo(transfer.easy, CURLINFO_OS_ERRNO, &os_errno);
    curl_off_t connect_time = 0;
    curl_easy_getinfo(transfer.easy, CURLINFO_CONNECT_TIME_T, &connect_time);
    switch (code) {
        case CURLE_COULDNT_CONNECT:
            if (os_errno == ECONNREFUSED) return "connection refused";
            return os_errno != 0 ? "cannot connect: " + std::string(std::strerror(static_cast<int>(os_errno)))
                                 : "cannot connect";
        case CURLE_OPERATION_TIMEDOUT:
            if (connect_time == 0) return "connect timeout after " + FormatSeconds(config.connect_timeout);
            return "timeout after " + FormatSeconds(config.request_timeout);
        case CURLE_COULDNT_RESOLVE_HOST:
            return "cannot resolve host";
        default:
            return transfer.error[0] != '\0' ? std::string(transfer.error) : curl_easy_strerror(code);
    }
}

}  // namespace

std::optional<milliseconds> RetryDelay(const WebhookSenderConfig& config, int attempts_made) {
    if (attempts_made < 1 || attempts_made > static_cast<int>(config.retry_schedule.size()))
        return std::nullopt;
    return config.retry_schedule[static_cast<size_t>(attempts_made - 1)];
}

// Runs the POSTs of several deliveries at once on one libcurl multi handle, so one slow receiver holds only
// its own slot, for at most the request timeout.
class WebhookSender::Transfers {
public:
    Transfers(WebhookSender& sender) : sender_(sender), multi_(curl_multi_init()) {}
    ~Transfers() {
        for (auto& [easy, transfer] : active_) curl_multi_remove_handle(multi_, easy);
        active_.clear();
        curl_multi_cleanup(multi_);
    }

    CURLM* multi() const { return multi_; }
    int FreeSlots() const { return sender_.config_.max_concurrent - static_cast<int>(active_.size()); }
    int Active() const { return static_cast<int>(active_.size()); }
    bool InFlight(std::int64_t delivery_id) const { return in_flight_.contains(delivery_id); }

    void Begin(const core::WebhookDelivery& delivery, const core::Webhook& webhook) {
        const auto& config = sender_.config_;
        auto transfer = std::make_unique<Delivery>();
        transfer->delivery = delivery;
        transfer->easy = curl_easy_init();
        // Signed at send time: receivers refuse old timestamps, and a retry may come hours later.
        const std::string signature =
            WebhookSignature(webhook.secret, UnixSeconds(sender_.clock_.WallNow()), delivery.payload);
        for (const std::string& header :
             {std::string("Content-Type: application/json"), "Faxd-Event: " + delivery.event_type,
              "Faxd-Delivery: " + std::to_string(delivery.id), "Faxd-Signature: " + signature,
              std::string("Expect:")}) {  // no 100-continue round trip before larger bodies
            transfer->headers = curl_slist_append(transfer->headers, header.c_str());
        }
        CURL* easy = transfer->easy;
        curl_easy_setopt(easy, CURLOPT_URL, webhook.url.c_str());
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is an answer, not a delivery
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, transfer->delivery.payload.data());
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(transfer->delivery.payload.size()));
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
        curl_easy_setopt(easy, CURLOPT_USERAGENT, config.user_agent.c_str());
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(config.request_timeout.count()));
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout.count()));
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, DiscardBody);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, config.verify_tls ? 1L : 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, config.verify_tls ? 2L : 0L);
        if (!config.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, config.ca_file.c_str());
        if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
            sender_.log_->error("delivery {}: cannot start a transfer", delivery.id);
            return;
        }
        in_flight_.insert(delivery.id);
        active_.emplace(easy, std::move(transfer));
    }

    // Moves the transfers on and records the finished ones.
    void Perform() {
        int running = 0;
        curl_multi_perform(multi_, &running);
        int queued = 0;
        while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL* easy = message->easy_handle;
            const CURLcode result = message->data.result;
            curl_multi_remove_handle(multi_, easy);
            auto found = active_.find(easy);
            if (found == active_.end()) continue;
            std::unique_ptr<Delivery> transfer = std::move(found->second);
            active_.erase(found);
            Finish(*transfer, result);
            in_flight_.erase(transfer->delivery.id);
        }
    }

private:
    void Finish(const Delivery& transfer, CURLcode result) {
        const auto& delivery = transfer.delivery;
        long status = 0;
        if (result == CURLE_OK) curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
        const base::WallTime now = sender_.clock_.WallNow();
        if (result == CURLE_OK && status >= 200 && status < 300) {
            sender_.log_->info("delivery {} ({}) delivered: HTTP {}", delivery.id, delivery.event_type,
                               status);
            sender_.Record(delivery.id, core::DeliveryState::kDelivered, now, static_cast<int>(status), "");
            return;
        }
        const std::string error = result == CURLE_OK
                                      ? "HTTP " + std::to_string(status)
                                      : DescribeTransportFailure(result, transfer, sender_.config_);
        const int attempts_made = delivery.attempts + 1;
        if (const auto delay = RetryDelay(sender_.config_, attempts_made)) {
            sender_.log_->warn("delivery {} try {} failed: {}; next try in {}", delivery.id, attempts_made,
                               error, FormatSeconds(*delay));
            sender_.Record(delivery.id, core::DeliveryState::kPending, now + *delay, static_cast<int>(status),
                           error);
        } else {
            sender_.log_->warn("delivery {} failed after {} tries: {}", delivery.id, attempts_made, error);
            sender_.Record(delivery.id, core::DeliveryState::kFailed, now, static_cast<int>(status), error);
        }
    }

    WebhookSender& sender_;
    CURLM* multi_;
    std::map<CURL*, std::unique_ptr<Delivery>> active_;
    std::set<std::int64_t> in_flight_;
};

WebhookSender::WebhookSender(core::AccountStore& store, const base::Clock& clock, WebhookSenderConfig config)
    : store_(store), clock_(clock), config_(std::move(config)), log_(base::GetLogger("webhooks")) {
    // Thread-safe since libcurl 7.84; reference counted, paired with the cleanup in the destructor.
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

WebhookSender::~WebhookSender() {
    Stop();
    curl_global_cleanup();
}

void WebhookSender::Start() {
    std::lock_guard lock(mutex_);
    if (worker_.joinable()) return;
    stopping_ = false;
    worker_ = std::thread([this] { Run(); });
}

void WebhookSender::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (wakeup_handle_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(wakeup_handle_));
    }
    if (worker_.joinable()) worker_.join();
}

void WebhookSender::Wake() {
    std::lock_guard lock(mutex_);
    woken_ = true;
    if (wakeup_handle_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(wakeup_handle_));
}

void WebhookSender::Record(std::int64_t id, core::DeliveryState state, base::WallTime next_attempt_at,
                           int status, const std::string& error) {
    // A failed write leaves the delivery pending and due: it is sent again at the next poll.
    auto recorded = store_.RecordDeliveryAttempt(id, state, next_attempt_at, status, error);
    if (recorded) return;
    if (recorded.error().code == base::ErrorCode::kNotFound) {
        log_->debug("delivery {} is gone: its webhook was deleted", id);  // deliveries go with their webhook
        return;
    }
    log_->error("delivery {}: cannot record the try: {}", id, recorded.error().ToString());
}

void WebhookSender::StartDue(Transfers& transfers) {
    const int free_slots = transfers.FreeSlots();
    if (free_slots <= 0) return;
    // Deliveries in flight are still pending and due, so ask for enough to fill the free slots anyway.
    auto due = store_.DueDeliveries(clock_.WallNow(), transfers.Active() + free_slots);
    if (!due) {
        log_->error("cannot read due deliveries: {}", due.error().ToString());
        return;
    }
    int started = 0;
    for (const auto& delivery : *due) {
        if (started == free_slots) break;
        if (transfers.InFlight(delivery.id)) continue;
        auto webhook = store_.GetWebhook(delivery.webhook);
        if (!webhook) {
            if (webhook.error().code != base::ErrorCode::kNotFound) {
                log_->error("delivery {}: cannot read webhook {}: {}", delivery.id, delivery.webhook,
                            webhook.error().ToString());
                continue;
            }
            Record(delivery.id, core::DeliveryState::kFailed, clock_.WallNow(), 0, "webhook deleted");
            continue;
        }
        // The store holds a disabled webhook's deliveries until it is enabled again; this one was disabled
        // since the query, so it waits too.
        if (!webhook->enabled) continue;
        transfers.Begin(delivery, *webhook);
        ++started;
    }
}

void WebhookSender::Run() {
    Transfers transfers(*this);
    {
        std::lock_guard lock(mutex_);
        wakeup_handle_ = transfers.multi();
    }
    // Polling is paced in real time: it only bounds how late a due delivery is noticed, while what is due
    // and the signatures follow the injected clock.
    auto next_poll = std::chrono::steady_clock::now();
    for (;;) {
        bool poll_now = false;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) break;
            poll_now = woken_ || std::chrono::steady_clock::now() >= next_poll;
            woken_ = false;
        }
        if (poll_now) {
            StartDue(transfers);
            next_poll = std::chrono::steady_clock::now() + config_.poll_interval;
        }
        transfers.Perform();
        const auto until_poll = duration_cast<milliseconds>(next_poll - std::chrono::steady_clock::now());
        const int wait_ms = static_cast<int>(std::clamp<std::int64_t>(until_poll.count(), 0, 1000));
        curl_multi_poll(transfers.multi(), nullptr, 0, wait_ms, nullptr);
    }
    std::lock_guard lock(mutex_);
    wakeup_handle_ = nullptr;
}

}  // namespace faxd::web
