// The persistence ports of the core (JobStore, DirectoryStore, AccountStore) on SQLite or PostgreSQL, chosen
// by URL:
//   sqlite:/var/lib/faxd/faxd.db                   embedded, one node (or several processes on one host)
//   postgresql://host:port/db?user=faxd&...        several nodes sharing one database (libpq URI)
// Every port method is one transaction. Times are stored as BIGINT nanoseconds since the Unix epoch (UTC),
// which is base::WallTime exactly. See docs/store.md for the schema, the leases and the figures.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "core/accounts.hpp"
#include "core/listing.hpp"
#include "core/ports.hpp"
#include "store/connection.hpp"

namespace faxd::store {

struct StoreOptions {
    // This faxd instance. The ports name the node where they need it; MoveJob to kConverting does not, so
    // the store records this node as the converter (RecoverInterrupted with include_own finds it again).
    core::NodeId node;
    // The first lease of a conversion (MoveJob to kConverting) and of a reception (BeginInbound), until the
    // node's RenewLeases extends it. Match DispatcherConfig::lease.
    std::chrono::seconds lease{60};
    // For the times the ports do not pass in: when a job finished, the start of a conversion lease, when
    // hints were remembered. Null: the real clock.
    const base::Clock* clock = nullptr;
    // SQLite: how long a writer waits for another connection's write transaction.
    std::chrono::milliseconds busy_timeout{10'000};
};

// The API's listings (core/listing.hpp): filters, keyset cursors, pages.
using core::InboundFilter;
using core::JobFilter;
using core::Page;
using core::PageCursor;

std::string_view InboundStateName(core::InboundState state);
std::optional<core::InboundState> ParseInboundState(std::string_view name);

class Store final : public core::JobStore, public core::DirectoryStore, public core::AccountStore {
public:
    Store(std::unique_ptr<Connection> connection, StoreOptions options);
    ~Store() override;

    Dialect dialect() const { return connection_->dialect(); }
    // For bulk loading (benchmarks) and tests; not for the application: every change goes through a method.
    Connection& connection() { return *connection_; }

    // core::JobStore
    base::Result<core::SubmissionResult> Submit(const core::NewSubmission& submission,
                                                base::WallTime now) override;
    base::Result<core::Job> GetJob(core::JobId id) override;
    base::Result<core::NewSubmission> GetSubmission(core::SubmissionId id) override;
    base::Result<std::vector<core::Job>> SubmissionJobs(core::SubmissionId id) override;
    base::Result<std::vector<core::Attempt>> Attempts(core::JobId id) override;
    base::Result<bool> MoveJob(core::JobId id, core::JobState from, core::JobState to,
                               const std::string& reason) override;
    base::Result<bool> MarkRendered(core::JobId id, const std::string& document, int pages) override;
    base::Result<std::vector<core::Job>> DueJobs(base::WallTime now, int limit) override;
    base::Result<std::vector<core::Job>> QueuedJobs(int limit) override;
    base::Result<std::vector<core::Job>> QueueJobs(int limit) override;
    base::Result<bool> SendNow(core::JobId id, base::WallTime now) override;
    base::Result<std::string> DeleteJob(core::JobId id) override;
    base::Result<std::vector<std::string>> NumbersInCall() override;
    base::Result<bool> ClaimForSending(core::JobId id, const core::NodeId& node,
                                       base::WallTime lease_until) override;
    base::Result<void> RenewLeases(const core::NodeId& node, base::WallTime lease_until) override;
    base::Result<bool> RecordProgress(core::JobId id, const core::NodeId& node,
                                      int pages_in_attempt) override;
    base::Result<bool> FinishAttempt(core::JobId id, const core::NodeId& node, const core::Attempt& attempt,
                                     const core::RetryDecision& decision) override;
    base::Result<std::vector<core::JobId>> RecoverInterrupted(const core::NodeId& node, base::WallTime now,
                                                              bool include_own) override;
    base::Result<int> CountFailures(core::JobId id, core::FailureClass failure) override;
    base::Result<core::DestinationHints> HintsFor(const std::string& number) override;
    base::Result<void> RememberHints(const std::string& number, const core::DestinationHints& hints) override;
    base::Result<core::InboundFax> BeginInbound(const core::InboundFax& fax, base::WallTime now) override;
    base::Result<void> FinishInbound(const core::InboundFax& fax) override;
    // Also hands the returned rows to `node` for one lease, so two recovering nodes never both report one.
    base::Result<std::vector<core::InboundFax>> StaleInbound(const core::NodeId& node, base::WallTime now,
                                                             bool include_own) override;
    base::Result<std::vector<std::string>> PurgeOlderThan(base::WallTime before) override;

    // core::DirectoryStore
    base::Result<core::Directory> Load() override;
    base::Result<core::UserId> AddUser(const core::User& user) override;
    base::Result<void> UpdateUser(const core::User& user) override;
    base::Result<core::EntityId> AddEntity(const core::FaxEntity& entity) override;
    base::Result<core::GroupId> AddGroup(const core::Group& group) override;
    // One user with its numbers; kNotFound when there is none.
    base::Result<core::User> GetUser(core::UserId id);
    // Empty when no user has that login (not an error: a login form asks exactly this).
    base::Result<std::optional<core::User>> FindUserByLogin(const std::string& login);

    // core::AccountStore
    base::Result<std::string> PasswordHash(core::UserId user) override;
    base::Result<void> SetPasswordHash(core::UserId user, const std::string& hash) override;
    base::Result<std::int64_t> AddToken(const core::ApiToken& token) override;
    base::Result<core::ApiToken> FindToken(const std::string& hash, base::WallTime now) override;
    base::Result<std::vector<core::ApiToken>> ListTokens(core::UserId user) override;
    base::Result<bool> DeleteToken(core::UserId user, std::int64_t id) override;
    base::Result<std::int64_t> AddWebhook(const core::Webhook& webhook) override;
    base::Result<std::vector<core::Webhook>> ListWebhooks() override;
    base::Result<core::Webhook> GetWebhook(std::int64_t id) override;
    base::Result<bool> DeleteWebhook(std::int64_t id) override;
    base::Result<std::vector<std::int64_t>> QueueDeliveries(
        const std::vector<core::WebhookDelivery>& deliveries) override;
    // Only deliveries of enabled webhooks: a disabled webhook's deliveries wait until it is enabled again.
    base::Result<std::vector<core::WebhookDelivery>> DueDeliveries(base::WallTime now, int limit) override;
    base::Result<void> RecordDeliveryAttempt(std::int64_t id, core::DeliveryState state,
                                             base::WallTime next_attempt_at, int status,
                                             const std::string& error) override;
    base::Result<std::vector<core::WebhookDelivery>> ListDeliveries(std::int64_t webhook, int limit) override;

    // For the REST API: one page of jobs or received faxes, newest first, continuing after `after`.
    base::Result<Page<core::Job>> ListJobs(const JobFilter& filter, std::optional<PageCursor> after,
                                           int limit);
    base::Result<Page<core::InboundFax>> ListInbound(const InboundFilter& filter,
                                                     std::optional<PageCursor> after, int limit);
    base::Result<core::InboundFax> GetInbound(std::int64_t id);
    // Removes a received fax (not one still arriving) and returns its document's spool name.
    base::Result<std::string> DeleteInbound(std::int64_t id);

    // Small durable key/value settings (queue stopped until, ...).
    base::Result<std::optional<std::string>> GetSetting(const std::string& key) override;
    base::Result<void> PutSetting(const std::string& key, const std::string& value) override;

    int schema_version() const { return schema_version_; }
    base::Result<void> Migrate();  // called by OpenStore

private:
    // Runs `body` in one transaction under the connection lock; commits when it succeeds (unless the body
    // committed itself with Transaction::CommitWith).
    base::Result<void> Run(TxMode mode, const std::function<base::Result<void>(Transaction&)>& body);
    // One statement on its own (its own implicit transaction), under the connection lock.
    base::Result<ExecResult> Single(std::string_view sql, const std::vector<Param>& params = {},
                                    OnUniqueViolation on_unique = OnUniqueViolation::kError);
    base::WallTime Now() const;

    std::unique_ptr<Connection> connection_;
    StoreOptions options_;
    std::unique_ptr<base::Clock> own_clock_;
    std::mutex mutex_;  // one statement stream per connection: callers on several threads take turns
    int schema_version_ = 0;
};

// Opens (and migrates) the store a URL names. Errors: kInvalidArgument for an unknown scheme, kIo when the
// database cannot be reached, kUnsupported when its schema is newer than this code.
base::Result<std::unique_ptr<Store>> OpenStore(const std::string& url, StoreOptions options = {});

}  // namespace faxd::store
