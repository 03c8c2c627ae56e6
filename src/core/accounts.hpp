// What the API needs to know who is calling and whom to tell: users' password hashes, API tokens (stored
// only as hashes), webhooks and their delivery log. src/store implements the port; src/web uses it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "core/job.hpp"

namespace faxd::core {

struct ApiToken {
    std::int64_t id = 0;
    UserId user = 0;
    std::string name;    // what the user called it ("faxctl on laptop")
    std::string hash;    // hex SHA-256 of the secret token; the token itself is never stored
    std::string prefix;  // the first 8 characters of the token, to recognise it in lists
    base::WallTime created{};
    std::optional<base::WallTime> last_used;
};

struct Webhook {
    std::int64_t id = 0;
    std::optional<UserId> user;  // empty: global (every fax; administrators only)
    std::string url;
    std::string secret;               // HMAC-SHA256 key (random, shown once on creation)
    std::vector<std::string> events;  // event types ("fax.state_changed", ...); empty: all
    bool enabled = true;
    base::WallTime created{};
};

enum class DeliveryState { kPending, kDelivered, kFailed };  // kFailed: gave up after the last retry

struct WebhookDelivery {
    std::int64_t id = 0;
    std::int64_t webhook = 0;
    std::string event_type;
    std::string payload;  // the JSON body, exactly as signed and sent
    DeliveryState state = DeliveryState::kPending;
    int attempts = 0;
    base::WallTime created{};
    base::WallTime next_attempt_at{};
    int last_status = 0;     // HTTP status of the last try (0: no answer)
    std::string last_error;  // "connection refused", "HTTP 500", ...
};

class AccountStore {
public:
    virtual ~AccountStore() = default;

    // Passwords: Argon2id strings (libsodium crypto_pwhash_str); "" = no password login.
    virtual base::Result<std::string> PasswordHash(UserId user) = 0;
    virtual base::Result<void> SetPasswordHash(UserId user, const std::string& hash) = 0;

    virtual base::Result<std::int64_t> AddToken(const ApiToken& token) = 0;
    // The token whose hash matches; kNotFound otherwise. Records last_used = now when the stored stamp is
    // more than a minute old (a minute-grained stamp keeps a write off every request).
    virtual base::Result<ApiToken> FindToken(const std::string& hash, base::WallTime now) = 0;
    virtual base::Result<std::vector<ApiToken>> ListTokens(UserId user) = 0;
    virtual base::Result<bool> DeleteToken(UserId user, std::int64_t id) = 0;  // false: not that user's

    virtual base::Result<std::int64_t> AddWebhook(const Webhook& webhook) = 0;
    virtual base::Result<std::vector<Webhook>> ListWebhooks() = 0;  // all, enabled or not
    virtual base::Result<Webhook> GetWebhook(std::int64_t id) = 0;
    virtual base::Result<bool> DeleteWebhook(std::int64_t id) = 0;  // its deliveries go with it

    // Queues one delivery per webhook (one transaction); returns their ids in order.
    virtual base::Result<std::vector<std::int64_t>> QueueDeliveries(
        const std::vector<WebhookDelivery>& d) = 0;
    // Pending deliveries of enabled webhooks due at `now`, oldest first (a disabled webhook's wait). Not a
    // claim: two nodes asking at once may both get one, so receivers deduplicate by delivery id.
    virtual base::Result<std::vector<WebhookDelivery>> DueDeliveries(base::WallTime now, int limit) = 0;
    // After a try: the new state, attempts+1, when to try again, what happened.
    virtual base::Result<void> RecordDeliveryAttempt(std::int64_t id, DeliveryState state,
                                                     base::WallTime next_attempt_at, int status,
                                                     const std::string& error) = 0;
    // Newest first.
    virtual base::Result<std::vector<WebhookDelivery>> ListDeliveries(std::int64_t webhook, int limit) = 0;
};

}  // namespace faxd::core
