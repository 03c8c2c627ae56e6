// Delivers queued webhook events: POSTs each due delivery to its webhook's URL, signed, and records the
// outcome in the store (delivered, or the next try per the retry schedule, or failed after the last one).
// The store is the queue, so a restart resumes where the last process stopped. A delivery interrupted by
// Stop() stays pending and is sent again: receivers deduplicate by the Faxd-Delivery header.
//
// Several faxd nodes sharing one database would each send a due delivery: run the sender on one node.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "core/accounts.hpp"

namespace faxd::web {

struct WebhookSenderConfig {
    // How often the store is asked for due deliveries when nobody calls Wake().
    std::chrono::milliseconds poll_interval{1000};
    // The whole request, connecting included; a receiver slower than this counts as a failed try.
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds connect_timeout{5'000};
    // Wait before try n+1 after the n-th failed try; a failure after the last entry marks the delivery
    // failed.
    std::vector<std::chrono::milliseconds> retry_schedule{
        std::chrono::seconds{5},  std::chrono::seconds{25}, std::chrono::minutes{2}, std::chrono::minutes{10},
        std::chrono::minutes{52}, std::chrono::hours{4},    std::chrono::hours{22}};
    int max_concurrent = 8;
    std::string user_agent = "faxd-webhooks/1";
    // HTTPS receivers' certificates are checked against the system CAs (or ca_file when set).
    bool verify_tls = true;
    std::string ca_file;
};

// When the next try is due after `attempts_made` failed tries, or nullopt when the schedule is used up.
std::optional<std::chrono::milliseconds> RetryDelay(const WebhookSenderConfig& config, int attempts_made);

class WebhookSender {
public:
    WebhookSender(core::AccountStore& store, const base::Clock& clock, WebhookSenderConfig config);
    ~WebhookSender();  // stops
    WebhookSender(const WebhookSender&) = delete;
    WebhookSender& operator=(const WebhookSender&) = delete;

    void Start();
    // Returns once the worker thread has ended; transfers in flight are abandoned (they stay pending).
    void Stop();
    // Looks for due deliveries now instead of at the next poll (a new event was queued, or a test moved
    // its clock).
    void Wake();

private:
    class Transfers;  // the libcurl multi handle and the deliveries in flight; lives on the worker thread

    void Run();
    void StartDue(Transfers& transfers);
    void Record(std::int64_t id, core::DeliveryState state, base::WallTime next_attempt_at, int status,
                const std::string& error);

    core::AccountStore& store_;
    const base::Clock& clock_;
    const WebhookSenderConfig config_;
    base::Logger log_;

    std::mutex mutex_;
    bool stopping_ = false;
    bool woken_ = false;
    void* wakeup_handle_ = nullptr;  // the CURLM* of the running worker, for curl_multi_wakeup
    std::thread worker_;
};

}  // namespace faxd::web
