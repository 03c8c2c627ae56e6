#include "web/events.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "web/api_json.hpp"

namespace faxd::web {

using nlohmann::json;

EventHub::EventHub(core::AccountStore& accounts, const base::Clock& clock, DirectorySource directory,
                   core::Permission default_level, std::function<void()> wake_webhooks)
    : accounts_(accounts),
      clock_(clock),
      directory_(std::move(directory)),
      default_level_(default_level),
      wake_webhooks_(std::move(wake_webhooks)),
      worker_([this] { Run(); }) {}

EventHub::~EventHub() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_ready_.notify_all();
    worker_.join();
}

void EventHub::Enqueue(std::function<void()> task) {
    {
        std::lock_guard lock(queue_mutex_);
        queue_.push_back(std::move(task));
    }
    queue_ready_.notify_one();
}

void EventHub::Run() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(queue_mutex_);
            queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued was delivered
            task = std::move(queue_.front());
            queue_.pop_front();
        }
        task();
    }
}

std::string EventHub::SseFrame(const std::string& type, std::int64_t id, const std::string& json) {
    return "id: " + std::to_string(id) + "\nevent: " + type + "\ndata: " + json + "\n\n";
}

void EventHub::JobChanged(const core::Job& job) {
    Enqueue([this, job] {
        auto directory = directory_();
        if (!directory) return;
        std::string type = "fax.state_changed";
        if (job.state == core::JobState::kQueued) type = "fax.queued";
        auto may_see = [job](const core::Directory& d, const core::Caller& c) {
            return core::MaySeeJob(d, c, job);
        };
        Publish(type, JobFaxId(job.id), JobJson(job, *directory), std::nullopt, may_see);
        if (core::IsFinal(job.state)) {
            Publish("fax.completed", JobFaxId(job.id), JobJson(job, *directory), std::nullopt, may_see);
        }
    });
}

void EventHub::JobPage(const core::Job& job, PageProgress page) {
    Enqueue([this, job, page] {
        auto directory = directory_();
        if (!directory) return;
        Publish(
            "fax.page", JobFaxId(job.id), JobJson(job, *directory), page,
            [job](const core::Directory& d, const core::Caller& c) { return core::MaySeeJob(d, c, job); });
    });
}

void EventHub::InboundChanged(const core::InboundFax& fax) {
    Enqueue([this, fax] {
        auto directory = directory_();
        if (!directory) return;
        auto may_see = [fax](const core::Directory& d, const core::Caller& c) {
            return core::MaySeeInbound(d, c, fax);
        };
        Publish("fax.state_changed", InboundFaxId(fax.id), InboundJson(fax, *directory), std::nullopt,
                may_see);
        if (fax.state != core::InboundState::kReceiving) {
            Publish("fax.received", InboundFaxId(fax.id), InboundJson(fax, *directory), std::nullopt,
                    may_see);
        }
    });
}

void EventHub::InboundPage(const core::InboundFax& fax, PageProgress page) {
    Enqueue([this, fax, page] {
        auto directory = directory_();
        if (!directory) return;
        Publish("fax.page", InboundFaxId(fax.id), InboundJson(fax, *directory), page,
                [fax](const core::Directory& d, const core::Caller& c) {
                    return core::MaySeeInbound(d, c, fax);
                });
    });
}

std::int64_t EventHub::Subscribe(const std::string& fax_id, Listener on_event) {
    std::lock_guard lock(mutex_);
    const std::int64_t token = next_token_++;
    listeners_.emplace(fax_id, std::make_pair(token, std::move(on_event)));
    return token;
}

void EventHub::Unsubscribe(std::int64_t token) {
    std::lock_guard lock(mutex_);
    for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
        if (it->second.first == token) {
            listeners_.erase(it);
            return;
        }
    }
}

void EventHub::WebhooksChanged() {
    std::lock_guard lock(mutex_);
    webhooks_.reset();
}

std::vector<core::Webhook> EventHub::Webhooks() {
    const base::WallTime now = clock_.WallNow();
    {
        std::lock_guard lock(mutex_);
        // Other nodes may add webhooks: a short cache keeps one database read off each event.
        if (webhooks_ && now - webhooks_read_ < std::chrono::seconds(10)) return *webhooks_;
    }
    auto all = accounts_.ListWebhooks();
    if (!all) {
        base::GetLogger("events")->warn("cannot read webhooks: {}", all.error().ToString());
        return {};
    }
    std::lock_guard lock(mutex_);
    webhooks_ = *all;
    webhooks_read_ = now;
    return *webhooks_;
}

void EventHub::Publish(const std::string& type, const std::string& fax_id, json fax,
                       const std::optional<PageProgress>& page,
                       const std::function<bool(const core::Directory&, const core::Caller&)>& may_see) {
    const std::int64_t id = next_event_++;
    const base::WallTime now = clock_.WallNow();
    json body = {{"id", id}, {"type", type}, {"time", FormatTime(now)}, {"fax", std::move(fax)}};
    if (page) body["page"] = {{"number", page->number}, {"of", page->of}, {"bit_rate", page->bit_rate}};
    const std::string text = body.dump();

    std::vector<Listener> listeners;
    {
        std::lock_guard lock(mutex_);
        auto [first, last] = listeners_.equal_range(fax_id);
        for (auto it = first; it != last; ++it) listeners.push_back(it->second.second);
    }
    for (const auto& listener : listeners) listener(type, id, text);

    std::vector<core::WebhookDelivery> deliveries;
    auto directory = directory_();
    for (const core::Webhook& webhook : Webhooks()) {
        if (!webhook.enabled) continue;
        if (!webhook.events.empty() &&
            std::find(webhook.events.begin(), webhook.events.end(), type) == webhook.events.end()) {
            continue;
        }
        if (webhook.user) {
            const core::User* user = directory ? directory->FindUser(*webhook.user) : nullptr;
            if (!user) continue;
            core::Caller caller{*user, core::EffectivePermission(*user, default_level_)};
            if (!may_see(*directory, caller)) continue;
        }
        core::WebhookDelivery delivery;
        delivery.webhook = webhook.id;
        delivery.event_type = type;
        delivery.payload = text;
        delivery.created = now;
        delivery.next_attempt_at = now;
        deliveries.push_back(std::move(delivery));
    }
    if (deliveries.empty()) return;
    if (auto queued = accounts_.QueueDeliveries(deliveries); !queued) {
        base::GetLogger("events")->warn("cannot queue {} webhook deliveries for {}: {}", deliveries.size(),
                                        type, queued.error().ToString());
        return;
    }
    if (wake_webhooks_) wake_webhooks_();
}

}  // namespace faxd::web
