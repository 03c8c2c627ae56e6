// Fax events for live progress: state changes, pages, received faxes. Each event goes to the SSE streams
// watching that fax and, as a stored delivery, to every webhook allowed to see it (WebhookSender sends them).
// Publishing only queues the event: a thread of the hub's own does the fan-out, in order, so a publisher (a
// media thread at a page boundary, the dispatcher) never waits for the database.
// Events are made by the node that causes them; a webhook delivery is stored right after the change it
// reports (a crash between the two loses that one notification, never the fax).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "core/access.hpp"
#include "core/accounts.hpp"
#include "core/directory.hpp"
#include "core/ports.hpp"

namespace faxd::web {

struct PageProgress {
    int number = 0;  // pages confirmed (sent) or received so far
    int of = 0;      // pages of the fax (0 while unknown, e.g. receiving)
    int bit_rate = 0;
};

class EventHub {
public:
    using DirectorySource = std::function<std::shared_ptr<const core::Directory>()>;
    EventHub(core::AccountStore& accounts, const base::Clock& clock, DirectorySource directory,
             core::Permission default_level, std::function<void()> wake_webhooks);
    ~EventHub();  // delivers what is queued, then stops the thread

    // Publishers (any thread).
    void JobChanged(const core::Job& job);  // fax.queued for kQueued, fax.completed for final states too
    void JobPage(const core::Job& job, PageProgress page);
    void InboundChanged(const core::InboundFax& fax);  // fax.received when complete
    void InboundPage(const core::InboundFax& fax, PageProgress page);

    // Subscribers: `on_event(type, id, json)` for each event of fax `fax_id` ("out-12"), from the publisher's
    // thread; it must be quick. Returns a token for Unsubscribe.
    using Listener = std::function<void(const std::string& type, std::int64_t id, const std::string& json)>;
    std::int64_t Subscribe(const std::string& fax_id, Listener on_event);
    void Unsubscribe(std::int64_t token);

    // The webhooks changed (added, deleted): read them again.
    void WebhooksChanged();

    // One SSE frame.
    static std::string SseFrame(const std::string& type, std::int64_t id, const std::string& json);

private:
    void Enqueue(std::function<void()> task);
    void Run();
    void Publish(const std::string& type, const std::string& fax_id, nlohmann::json fax,
                 const std::optional<PageProgress>& page,
                 const std::function<bool(const core::Directory&, const core::Caller&)>& may_see);
    std::vector<core::Webhook> Webhooks();

    core::AccountStore& accounts_;
    const base::Clock& clock_;
    DirectorySource directory_;
    core::Permission default_level_;
    std::function<void()> wake_webhooks_;
    std::atomic<std::int64_t> next_event_{1};

    std::mutex mutex_;
    std::int64_t next_token_ = 1;
    std::multimap<std::string, std::pair<std::int64_t, Listener>> listeners_;
    std::optional<std::vector<core::Webhook>> webhooks_;  // cached until changed (or 10 s old)
    base::WallTime webhooks_read_{};

    std::mutex queue_mutex_;
    std::condition_variable queue_ready_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::thread worker_;  // last: starts after everything above exists
};

}  // namespace faxd::web
