// The store contract, accounts: password hashes, API tokens, webhooks and their deliveries, a submission's
// resolution, and the migration that added them run on a database that already holds data. Runs against
// SQLite (store_test) and PostgreSQL (store_pg_test).
#include <gtest/gtest.h>

#include "store/pg_connection.hpp"
#include "store/sqlite_connection.hpp"
#include "store/store_contract_fixture.hpp"

namespace faxd::store {
namespace {

using namespace std::chrono_literals;
using namespace contract;
using core::DeliveryState;
using testing::Must;

core::ApiToken Token(core::UserId user, const std::string& hash, base::WallTime created) {
    core::ApiToken token;
    token.user = user;
    token.name = "faxctl on laptop";
    token.hash = hash;
    token.prefix = "fxd_" + hash.substr(0, 4);
    token.created = created;
    return token;
}

core::Webhook Hook(std::optional<core::UserId> user, std::vector<std::string> events,
                   base::WallTime created) {
    core::Webhook webhook;
    webhook.user = user;
    webhook.url = "https://example.com/hook";
    webhook.secret = "whsec_test";
    webhook.events = std::move(events);
    webhook.created = created;
    return webhook;
}

core::WebhookDelivery Delivery(std::int64_t webhook, const std::string& type, base::WallTime created,
                               base::WallTime due) {
    core::WebhookDelivery delivery;
    delivery.webhook = webhook;
    delivery.event_type = type;
    delivery.payload = R"({"type":")" + type + R"("})";
    delivery.created = created;
    delivery.next_attempt_at = due;
    return delivery;
}

std::vector<std::int64_t> Ids(const std::vector<core::WebhookDelivery>& deliveries) {
    std::vector<std::int64_t> ids;
    for (const auto& delivery : deliveries) ids.push_back(delivery.id);
    return ids;
}

std::string Count(Store& store, const std::string& sql) {
    return *Must(store.connection().Exec(sql)).rows.at(0).at(0);
}

TEST_F(StoreContract, PasswordHashesAreEmptyUntilSet) {
    EXPECT_EQ(Must(store_->PasswordHash(alice_)), "");
    Must(store_->SetPasswordHash(alice_, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA"));
    EXPECT_EQ(Must(store_->PasswordHash(alice_)), "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA");
    EXPECT_EQ(Must(store_->PasswordHash(bob_)), "");
    Must(store_->SetPasswordHash(alice_, ""));  // password login off again
    EXPECT_EQ(Must(store_->PasswordHash(alice_)), "");
    EXPECT_EQ(store_->PasswordHash(999999).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(store_->SetPasswordHash(999999, "x").error().code, base::ErrorCode::kNotFound);
    // UpdateUser leaves the password alone.
    Must(store_->SetPasswordHash(bob_, "bob-hash"));
    core::User bob = Must(store_->GetUser(bob_));
    bob.name = "Bob";
    Must(store_->UpdateUser(bob));
    EXPECT_EQ(Must(store_->PasswordHash(bob_)), "bob-hash");
}

TEST_F(StoreContract, UsersByIdAndByLogin) {
    core::User carol;
    carol.login = "carol";
    carol.name = "Carol";
    carol.numbers = {"200", "201"};
    carol.attachment_format = core::AttachmentFormat::kTiff;
    carol.permission = core::Permission::kAdministrator;
    carol.id = Must(store_->AddUser(carol));

    const core::User by_id = Must(store_->GetUser(carol.id));
    EXPECT_EQ(by_id.login, "carol");
    EXPECT_EQ(by_id.name, "Carol");
    EXPECT_EQ(by_id.numbers, (std::vector<std::string>{"200", "201"}));
    EXPECT_EQ(by_id.attachment_format, core::AttachmentFormat::kTiff);
    EXPECT_EQ(by_id.permission, core::Permission::kAdministrator);
    const auto by_login = Must(store_->FindUserByLogin("carol"));
    ASSERT_TRUE(by_login.has_value());
    EXPECT_EQ(by_login->id, carol.id);
    EXPECT_EQ(by_login->numbers, by_id.numbers);
    EXPECT_EQ(Must(store_->FindUserByLogin("alice"))->numbers, std::vector<std::string>{});

    EXPECT_FALSE(Must(store_->FindUserByLogin("nobody")).has_value());
    EXPECT_FALSE(Must(store_->FindUserByLogin("CAROL")).has_value());  // logins are exact
    EXPECT_EQ(store_->GetUser(999999).error().code, base::ErrorCode::kNotFound);
}

TEST_F(StoreContract, TokensAreFoundByHashAndStampedWhenUsed) {
    const auto created = clock_.WallNow();
    const std::int64_t id = Must(store_->AddToken(Token(alice_, "aaaa1111", created)));
    EXPECT_GT(id, 0);
    auto listed = Must(store_->ListTokens(alice_));
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].id, id);
    EXPECT_EQ(listed[0].created, created);
    EXPECT_FALSE(listed[0].last_used.has_value());

    const auto used = created + 90s + 123ns;
    const core::ApiToken found = Must(store_->FindToken("aaaa1111", used));
    EXPECT_EQ(found.id, id);
    EXPECT_EQ(found.user, alice_);
    EXPECT_EQ(found.name, "faxctl on laptop");
    EXPECT_EQ(found.hash, "aaaa1111");
    EXPECT_EQ(found.prefix, "fxd_aaaa");
    EXPECT_EQ(found.created, created);
    EXPECT_EQ(found.last_used, used);
    // The stamp is stored, not only returned.
    EXPECT_EQ(Must(store_->ListTokens(alice_)).at(0).last_used, used);

    // Within a minute the stamp stays (no write per request); after it, it moves.
    EXPECT_EQ(Must(store_->FindToken("aaaa1111", used + 59s)).last_used, used);
    EXPECT_EQ(Must(store_->ListTokens(alice_)).at(0).last_used, used);
    EXPECT_EQ(Must(store_->FindToken("aaaa1111", used + 61s)).last_used, used + 61s);
    EXPECT_EQ(Must(store_->ListTokens(alice_)).at(0).last_used, used + 61s);

    EXPECT_EQ(store_->FindToken("bbbb2222", used).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(store_->FindToken("", used).error().code, base::ErrorCode::kNotFound);
    EXPECT_TRUE(Must(store_->ListTokens(bob_)).empty());
}

TEST_F(StoreContract, TokensAreListedPerUserAndDeletedOnlyByTheirOwner) {
    const auto now = clock_.WallNow();
    const std::int64_t first = Must(store_->AddToken(Token(alice_, "alice-1", now)));
    const std::int64_t second = Must(store_->AddToken(Token(alice_, "alice-2", now + 1s)));
    const std::int64_t bobs = Must(store_->AddToken(Token(bob_, "bob-1", now)));
    auto alices = Must(store_->ListTokens(alice_));
    ASSERT_EQ(alices.size(), 2u);
    EXPECT_EQ(alices[0].id, first);
    EXPECT_EQ(alices[1].id, second);

    EXPECT_FALSE(Must(store_->DeleteToken(bob_, first)));  // not bob's
    EXPECT_EQ(Must(store_->ListTokens(alice_)).size(), 2u);
    EXPECT_TRUE(Must(store_->DeleteToken(alice_, first)));
    EXPECT_FALSE(Must(store_->DeleteToken(alice_, first)));  // gone already
    EXPECT_EQ(store_->FindToken("alice-1", now).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(Must(store_->FindToken("alice-2", now)).id, second);
    EXPECT_EQ(Must(store_->FindToken("bob-1", now)).id, bobs);
}

TEST_F(StoreContract, TokenHashesAreUnique) {
    const auto now = clock_.WallNow();
    Must(store_->AddToken(Token(alice_, "same-hash", now)));
    auto twice = store_->AddToken(Token(bob_, "same-hash", now));
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_TRUE(Must(store_->ListTokens(bob_)).empty());
    EXPECT_EQ(Must(store_->FindToken("same-hash", now)).user, alice_);
    EXPECT_EQ(store_->AddToken(Token(alice_, "", now)).error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_FALSE(store_->AddToken(Token(999999, "nobodys", now)));  // no such user: the foreign key
}

TEST_F(StoreContract, WebhooksRoundTripAndTakeTheirDeliveriesWhenDeleted) {
    const auto now = clock_.WallNow();
    const std::int64_t global = Must(store_->AddWebhook(Hook(std::nullopt, {}, now)));
    core::Webhook alices = Hook(alice_, {"fax.state_changed", "fax.received"}, now + 1s);
    alices.enabled = false;
    alices.id = Must(store_->AddWebhook(alices));

    const core::Webhook stored = Must(store_->GetWebhook(alices.id));
    EXPECT_EQ(stored.user, alice_);
    EXPECT_EQ(stored.url, "https://example.com/hook");
    EXPECT_EQ(stored.secret, "whsec_test");
    EXPECT_EQ(stored.events, (std::vector<std::string>{"fax.state_changed", "fax.received"}));
    EXPECT_FALSE(stored.enabled);
    EXPECT_EQ(stored.created, now + 1s);
    const core::Webhook everything = Must(store_->GetWebhook(global));
    EXPECT_FALSE(everything.user.has_value());
    EXPECT_TRUE(everything.events.empty());
    EXPECT_TRUE(everything.enabled);
    auto all = Must(store_->ListWebhooks());
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, global);
    EXPECT_EQ(all[1].id, alices.id);

    Must(store_->QueueDeliveries(
        {Delivery(global, "fax.sent", now, now), Delivery(alices.id, "fax.received", now, now)}));
    EXPECT_TRUE(Must(store_->DeleteWebhook(global)));
    EXPECT_FALSE(Must(store_->DeleteWebhook(global)));
    EXPECT_EQ(store_->GetWebhook(global).error().code, base::ErrorCode::kNotFound);
    EXPECT_TRUE(Must(store_->ListDeliveries(global, 10)).empty());
    EXPECT_EQ(Count(*store_, "SELECT COUNT(*) FROM webhook_deliveries"), "1");  // alice's stays
    EXPECT_EQ(Must(store_->ListWebhooks()).size(), 1u);

    EXPECT_EQ(store_->AddWebhook(Hook(alice_, {"a,b"}, now)).error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_EQ(store_->AddWebhook(Hook(alice_, {""}, now)).error().code, base::ErrorCode::kInvalidArgument);
    core::Webhook no_secret = Hook(alice_, {}, now);
    no_secret.secret.clear();
    EXPECT_EQ(store_->AddWebhook(no_secret).error().code, base::ErrorCode::kInvalidArgument);
}

TEST_F(StoreContract, DeliveriesAreDueOldestFirstAndRecordTheirAttempts) {
    const auto t0 = clock_.WallNow();
    const std::int64_t hook = Must(store_->AddWebhook(Hook(std::nullopt, {}, t0)));
    EXPECT_TRUE(Must(store_->QueueDeliveries({})).empty());
    // One call queues several; ids come back in the order given.
    const auto ids = Must(store_->QueueDeliveries({Delivery(hook, "fax.queued", t0, t0 + 20s),
                                                   Delivery(hook, "fax.sending", t0 + 1s, t0 + 10s),
                                                   Delivery(hook, "fax.sent", t0 + 2s, t0 + 10s)}));
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_LT(ids[0], ids[1]);
    EXPECT_LT(ids[1], ids[2]);

    EXPECT_TRUE(Must(store_->DueDeliveries(t0 + 9s, 10)).empty());
    EXPECT_EQ(Ids(Must(store_->DueDeliveries(t0 + 10s, 10))), (std::vector<std::int64_t>{ids[1], ids[2]}));
    EXPECT_EQ(Ids(Must(store_->DueDeliveries(t0 + 1h, 10))),
              (std::vector<std::int64_t>{ids[1], ids[2], ids[0]}));
    EXPECT_EQ(Ids(Must(store_->DueDeliveries(t0 + 1h, 1))), std::vector<std::int64_t>{ids[1]});
    const core::WebhookDelivery due = Must(store_->DueDeliveries(t0 + 10s, 1)).at(0);
    EXPECT_EQ(due.webhook, hook);
    EXPECT_EQ(due.event_type, "fax.sending");
    EXPECT_EQ(due.payload, R"({"type":"fax.sending"})");
    EXPECT_EQ(due.state, DeliveryState::kPending);
    EXPECT_EQ(due.attempts, 0);
    EXPECT_EQ(due.created, t0 + 1s);
    EXPECT_EQ(due.next_attempt_at, t0 + 10s);

    // A failed try: still pending, later; a success: never due again.
    Must(store_->RecordDeliveryAttempt(ids[1], DeliveryState::kPending, t0 + 15s, 500, "HTTP 500"));
    Must(store_->RecordDeliveryAttempt(ids[2], DeliveryState::kDelivered, t0 + 10s, 204, ""));
    EXPECT_TRUE(Must(store_->DueDeliveries(t0 + 14s, 10)).empty());
    const auto retried = Must(store_->DueDeliveries(t0 + 15s, 10));
    ASSERT_EQ(retried.size(), 1u);
    EXPECT_EQ(retried[0].id, ids[1]);
    EXPECT_EQ(retried[0].attempts, 1);
    EXPECT_EQ(retried[0].last_status, 500);
    EXPECT_EQ(retried[0].last_error, "HTTP 500");
    // The last retry gives up.
    Must(store_->RecordDeliveryAttempt(ids[1], DeliveryState::kFailed, t0 + 15s, 0, "connection refused"));
    EXPECT_EQ(Ids(Must(store_->DueDeliveries(t0 + 1h, 10))), std::vector<std::int64_t>{ids[0]});

    // The log, newest first, with what happened.
    const auto log = Must(store_->ListDeliveries(hook, 10));
    ASSERT_EQ(Ids(log), (std::vector<std::int64_t>{ids[2], ids[1], ids[0]}));
    EXPECT_EQ(log[0].state, DeliveryState::kDelivered);
    EXPECT_EQ(log[0].attempts, 1);
    EXPECT_EQ(log[0].last_status, 204);
    EXPECT_EQ(log[1].state, DeliveryState::kFailed);
    EXPECT_EQ(log[1].attempts, 2);
    EXPECT_EQ(log[1].last_status, 0);
    EXPECT_EQ(log[1].last_error, "connection refused");
    EXPECT_EQ(log[2].state, DeliveryState::kPending);
    EXPECT_EQ(Ids(Must(store_->ListDeliveries(hook, 2))), (std::vector<std::int64_t>{ids[2], ids[1]}));

    EXPECT_EQ(store_->RecordDeliveryAttempt(999999, DeliveryState::kDelivered, t0, 200, "").error().code,
              base::ErrorCode::kNotFound);
}

TEST_F(StoreContract, DisabledWebhooksDeliveriesWait) {
    const auto t0 = clock_.WallNow();
    core::Webhook off = Hook(alice_, {}, t0);
    off.enabled = false;
    off.id = Must(store_->AddWebhook(off));
    const std::int64_t on = Must(store_->AddWebhook(Hook(alice_, {}, t0)));
    const auto ids = Must(
        store_->QueueDeliveries({Delivery(off.id, "fax.sent", t0, t0), Delivery(on, "fax.sent", t0, t0)}));
    EXPECT_EQ(Ids(Must(store_->DueDeliveries(t0, 10))), std::vector<std::int64_t>{ids[1]});
    EXPECT_EQ(Must(store_->ListDeliveries(off.id, 10)).size(), 1u);
}

TEST_F(StoreContract, QueueDeliveriesIsAllOrNothing) {
    const auto t0 = clock_.WallNow();
    const std::int64_t hook = Must(store_->AddWebhook(Hook(std::nullopt, {}, t0)));
    // The second names no webhook: the foreign key refuses it, and the first goes too.
    EXPECT_FALSE(
        store_->QueueDeliveries({Delivery(hook, "fax.sent", t0, t0), Delivery(999999, "fax.sent", t0, t0)}));
    EXPECT_EQ(Count(*store_, "SELECT COUNT(*) FROM webhook_deliveries"), "0");
    EXPECT_EQ(Must(store_->QueueDeliveries({Delivery(hook, "fax.sent", t0, t0)})).size(), 1u);
}

TEST_F(StoreContract, SubmissionResolutionRoundTrips) {
    core::NewSubmission fine = To({"0301"});
    fine.resolution = "fine";
    const auto submitted = Must(store_->Submit(fine, clock_.WallNow()));
    EXPECT_EQ(Must(store_->GetSubmission(submitted.submission)).resolution, "fine");
    const auto plain = Must(store_->Submit(To({"0302"}), clock_.WallNow()));
    EXPECT_EQ(Must(store_->GetSubmission(plain.submission)).resolution, "");  // the server's default
}

// Step 3 (accounts) runs on a database that already holds users and faxes from version 2.
TEST_F(StoreContract, AccountsMigrationKeepsExistingData) {
    constexpr int kBeforeAccounts = 2;
    const std::string url = testing::CurrentBackend().NewDatabaseUrl();
    ASSERT_FALSE(url.empty());
    {
        std::unique_ptr<Connection> old;
        if (url.starts_with("sqlite:")) {
            old = Must(SqliteConnection::Open(url.substr(7), 10s));
        } else {
            old = Must(PgConnection::Open(url));
        }
        ASSERT_EQ(Must(MigrateTo(*old, 0, kBeforeAccounts)), kBeforeAccounts);
        Must(old->Exec("INSERT INTO users (login, name) VALUES ('dora', 'Dora')"));
        Must(
            old->Exec("INSERT INTO submissions (owner_id, priority, created_ns) SELECT id, 5, 1 FROM users "
                      "WHERE login = "
                      "'dora'"));
    }
    auto store = Must(OpenStore(url, StoreOptions{.node = "node-a", .clock = &clock_}));
    EXPECT_EQ(store->schema_version(), LatestSchemaVersion());
    const auto dora = Must(store->FindUserByLogin("dora"));
    ASSERT_TRUE(dora.has_value());
    EXPECT_EQ(dora->name, "Dora");
    EXPECT_EQ(Must(store->PasswordHash(dora->id)), "");
    const core::SubmissionId submission =
        std::stoll(Count(*store, "SELECT id FROM submissions WHERE owner_id = " + std::to_string(dora->id)));
    const core::NewSubmission old_submission = Must(store->GetSubmission(submission));
    EXPECT_EQ(old_submission.resolution, "");
    EXPECT_EQ(old_submission.priority, 5);
    // And the new tables work.
    Must(store->SetPasswordHash(dora->id, "hash"));
    Must(store->AddToken(Token(dora->id, "dora-token", clock_.WallNow())));
    EXPECT_EQ(Must(store->FindToken("dora-token", clock_.WallNow())).user, dora->id);
    store.reset();
    testing::CurrentBackend().Release(url);
}

// The sender asks DueDeliveries every few seconds: it must read the index in order, not sort the log.
TEST_F(StoreContract, DueDeliveriesReadTheirIndexOnSqlite) {
    if (store_->dialect() != Dialect::kSqlite) GTEST_SKIP() << "SQLite's planner only";
    std::string plan;
    for (const Row& row :
         Must(store_->connection().Exec(
                  "EXPLAIN QUERY PLAN SELECT d.id FROM webhook_deliveries d WHERE d.state = 'pending' AND "
                  "d.next_attempt_at_ns <= $1 AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id "
                  "AND "
                  "w.enabled = 1) ORDER BY d.next_attempt_at_ns, d.id LIMIT $2",
                  {1, 2}))
             .rows) {
        plan += row.back().value_or("") + "\n";
    }
    EXPECT_NE(plan.find("webhook_deliveries_due"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
}

}  // namespace
}  // namespace faxd::store
