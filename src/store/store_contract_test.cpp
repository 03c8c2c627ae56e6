// The store contract: every rule the ports promise, run against a real database (SQLite in store_test,
// PostgreSQL in store_pg_test). No mocks: two "nodes" are two Store instances on one database.
#include <algorithm>
#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "store/store_contract_fixture.hpp"

namespace faxd::store {
namespace {

using namespace std::chrono_literals;
using namespace contract;
using core::JobState;
using testing::Must;

TEST_F(StoreContract, MigrationsRunOnceAndReopenIsANoOp) {
    EXPECT_EQ(store_->schema_version(), LatestSchemaVersion());
    auto again = Open("node-b");
    EXPECT_EQ(again->schema_version(), LatestSchemaVersion());
    auto rows = Must(again->connection().Exec("SELECT version FROM schema_migrations ORDER BY version"));
    ASSERT_EQ(rows.rows.size(), static_cast<std::size_t>(LatestSchemaVersion()));
    EXPECT_EQ(*rows.rows[0][0], "1");
    // The data from before the reopen is still there.
    EXPECT_EQ(Must(again->Load()).users.size(), 2u);
}

TEST_F(StoreContract, RefusesASchemaNewerThanTheCode) {
    Must(store_->connection().Exec("INSERT INTO schema_migrations (version, applied_ns) VALUES ($1, 0)",
                                   {LatestSchemaVersion() + 1}));
    StoreOptions options;
    options.clock = &clock_;
    auto opened = OpenStore(url_, options);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, base::ErrorCode::kUnsupported);
}

TEST_F(StoreContract, DirectoryRoundTrip) {
    core::User carol;
    carol.login = "carol";
    carol.name = "Carol";
    carol.email = "carol@example.com";
    carol.numbers = {"200", "201"};
    carol.receive_enabled = false;
    carol.attachment_format = core::AttachmentFormat::kTiff;
    carol.permission = core::Permission::kAdministrator;
    carol.id = Must(store_->AddUser(carol));

    core::Group sales;
    sales.name = "sales";
    sales.numbers = {"300"};
    sales.members = {alice_, carol.id};
    sales.id = Must(store_->AddGroup(sales));

    core::FaxEntity office;
    office.name = "Front office";
    office.number = "400";
    office.settings_template = "front";
    office.members = {{alice_, true, false}, {bob_, false, true}};
    office.id = Must(store_->AddEntity(office));

    core::Directory directory = Must(store_->Load());
    ASSERT_EQ(directory.users.size(), 3u);
    const core::User* loaded = directory.FindUser(carol.id);
    ASSERT_NE(loaded, nullptr);
    EXPECT_EQ(loaded->login, "carol");
    EXPECT_EQ(loaded->email, "carol@example.com");
    EXPECT_EQ(loaded->numbers, (std::vector<std::string>{"200", "201"}));
    EXPECT_FALSE(loaded->receive_enabled);
    EXPECT_EQ(loaded->attachment_format, core::AttachmentFormat::kTiff);
    EXPECT_EQ(loaded->permission, core::Permission::kAdministrator);
    EXPECT_FALSE(directory.FindUser(alice_)->permission.has_value());
    ASSERT_EQ(directory.groups.size(), 1u);
    EXPECT_EQ(directory.groups[0].members, (std::vector<core::UserId>{alice_, carol.id}));
    EXPECT_EQ(directory.groups[0].numbers, (std::vector<std::string>{"300"}));
    ASSERT_EQ(directory.entities.size(), 1u);
    EXPECT_EQ(directory.entities[0].settings_template, "front");
    ASSERT_EQ(directory.entities[0].members.size(), 2u);
    EXPECT_FALSE(directory.entities[0].members[0].can_receive);
    EXPECT_FALSE(directory.entities[0].members[1].can_send);

    carol.numbers = {"202"};
    carol.permission.reset();
    Must(store_->UpdateUser(carol));
    directory = Must(store_->Load());
    EXPECT_EQ(directory.FindUser(carol.id)->numbers, (std::vector<std::string>{"202"}));
    EXPECT_FALSE(directory.FindUser(carol.id)->permission.has_value());

    auto duplicate = store_->AddUser(carol);
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error().code, base::ErrorCode::kInvalidArgument);
    core::User ghost;
    ghost.id = 9999;
    ghost.login = "ghost";
    auto missing = store_->UpdateUser(ghost);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, base::ErrorCode::kNotFound);
}

TEST_F(StoreContract, SubmitStoresSubmissionJobsAndReferences) {
    core::NewSubmission submission = To({"0301", "0302", "0303"});
    submission.documents = {"a.pdf", "b.docx"};
    submission.cover_page = "default";
    submission.subject = "Offer";
    submission.comments = "Please sign";
    submission.priority = 50;
    submission.send_at = At(k2026 + 3600, 123);  // odd nanoseconds: times round-trip exactly
    submission.kill_at = At(k2026 + 7200);
    submission.economy = true;
    const auto result = Must(store_->Submit(submission, clock_.WallNow()));
    EXPECT_FALSE(result.replayed);
    ASSERT_EQ(result.jobs.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const core::Job& job = result.jobs[i];
        EXPECT_EQ(job.state, JobState::kQueued);
        EXPECT_EQ(job.reference.ToString(), "2026.0000000" + std::to_string(i + 1));
        EXPECT_EQ(job.number, submission.recipients[i].number);
        const core::Job stored = Must(store_->GetJob(job.id));
        EXPECT_EQ(stored.reference, job.reference);
        EXPECT_EQ(stored.submission, result.submission);
        EXPECT_EQ(stored.owner, alice_);
        EXPECT_EQ(stored.recipient_name, job.recipient_name);
        EXPECT_EQ(stored.priority, 50);
        EXPECT_EQ(stored.send_at, submission.send_at);
        EXPECT_EQ(stored.kill_at, submission.kill_at);
        EXPECT_EQ(stored.next_attempt_at, *submission.send_at);
        EXPECT_EQ(stored.created, clock_.WallNow());
        EXPECT_TRUE(stored.economy);
    }
    const core::NewSubmission back = Must(store_->GetSubmission(result.submission));
    EXPECT_EQ(back.documents, submission.documents);
    EXPECT_EQ(back.subject, "Offer");
    EXPECT_EQ(back.comments, "Please sign");
    EXPECT_EQ(back.cover_page, "default");
    EXPECT_EQ(back.send_at, submission.send_at);
    ASSERT_EQ(back.recipients.size(), 3u);
    EXPECT_EQ(back.recipients[2].name, "Recipient 0303");
    EXPECT_EQ(Must(store_->SubmissionJobs(result.submission)).size(), 3u);

    EXPECT_EQ(store_->GetJob(424242).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(store_->GetSubmission(424242).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(store_->Submit(To({}), clock_.WallNow()).error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_EQ(store_->Submit(To({""}), clock_.WallNow()).error().code, base::ErrorCode::kInvalidArgument);
}

TEST_F(StoreContract, SubmitIsAllOrNothing) {
    // A row that already holds the second reference the next submission will draw: its first job goes in,
    // the second is refused by the unique index, and the whole transaction goes - submission, first job,
    // documents and the counter's increment.
    Connection& c = store_->connection();
    Must(c.Exec("INSERT INTO submissions (id, owner_id, priority, created_ns) VALUES (500, $1, 100, 0)",
                {alice_}));
    Must(c.Exec(
        "INSERT INTO jobs (submission_id, reference, owner_id, number, state, priority, next_attempt_at_ns, "
        "created_ns) VALUES (500, '2026.00000002', $1, '0399', 'failed', 100, 0, 0)",
        {alice_}));
    auto refused = store_->Submit(To({"0301", "0302", "0303"}), clock_.WallNow());
    ASSERT_FALSE(refused);
    auto count = [&](const std::string& sql) { return *Must(c.Exec(sql)).rows.at(0).at(0); };
    EXPECT_EQ(count("SELECT COUNT(*) FROM reference_counters"), "0");
    EXPECT_EQ(count("SELECT COUNT(*) FROM submissions"), "1");
    EXPECT_EQ(count("SELECT COUNT(*) FROM jobs"), "1");
    EXPECT_EQ(count("SELECT COUNT(*) FROM submission_documents"), "0");
    // A foreign key refusing the owner: nothing either.
    EXPECT_FALSE(store_->Submit(To({"0301"}, 777777), clock_.WallNow()));
    EXPECT_EQ(count("SELECT COUNT(*) FROM submissions"), "1");
    EXPECT_EQ(Must(store_->Submit(To({"0301"}), clock_.WallNow())).jobs[0].reference.sequence, 1);
}

TEST_F(StoreContract, IdempotencyKeyReplaysTheFirstSubmission) {
    core::NewSubmission submission = To({"0301", "0302"});
    submission.idempotency_key = "req-1";
    const auto first = Must(store_->Submit(submission, clock_.WallNow()));
    const auto again = Must(store_->Submit(submission, clock_.WallNow() + 5s));
    EXPECT_FALSE(first.replayed);
    EXPECT_TRUE(again.replayed);
    EXPECT_EQ(again.submission, first.submission);
    ASSERT_EQ(again.jobs.size(), 2u);
    EXPECT_EQ(again.jobs[0].id, first.jobs[0].id);
    EXPECT_EQ(again.jobs[1].reference, first.jobs[1].reference);

    // The same key from another owner, and no key at all, are new submissions.
    core::NewSubmission bobs = To({"0301"}, bob_);
    bobs.idempotency_key = "req-1";
    EXPECT_FALSE(Must(store_->Submit(bobs, clock_.WallNow())).replayed);
    submission.idempotency_key.clear();
    EXPECT_NE(Must(store_->Submit(submission, clock_.WallNow())).submission,
              Must(store_->Submit(submission, clock_.WallNow())).submission);
    EXPECT_EQ(*Must(store_->connection().Exec("SELECT COUNT(*) FROM jobs")).rows[0][0], "7");
}

TEST_F(StoreContract, IdempotencyKeyRacedByTwoNodesSubmitsOnce) {
    auto other = Open("node-b");
    core::NewSubmission submission = To({"0301"});
    std::vector<core::SubmissionId> ids(20);
    std::vector<std::thread> threads;
    std::latch start(2);
    for (int node = 0; node < 2; ++node) {
        threads.emplace_back([&, node] {
            Store& store = node == 0 ? *store_ : *other;
            start.arrive_and_wait();
            for (int i = node; i < 20; i += 2) {
                core::NewSubmission mine = submission;
                mine.idempotency_key = "key-" + std::to_string(i / 4);  // each key raced by both nodes
                auto result = store.Submit(mine, clock_.WallNow());
                ids[static_cast<std::size_t>(i)] = result ? result->submission : -1;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    for (int i = 0; i < 20; ++i) {
        ASSERT_GT(ids[static_cast<std::size_t>(i)], 0) << i;
        EXPECT_EQ(ids[static_cast<std::size_t>(i)], ids[static_cast<std::size_t>(i / 4 * 4)]) << i;
    }
    EXPECT_EQ(*Must(store_->connection().Exec("SELECT COUNT(*) FROM submissions")).rows[0][0], "5");
}

TEST_F(StoreContract, ReferencesRestartEachYearAndAreSharedWithInbound) {
    const auto late = Must(store_->Submit(To({"1", "2"}), At(k2027 - 1)));
    EXPECT_EQ(late.jobs[1].reference.ToString(), "2026.00000002");
    const auto early = Must(store_->Submit(To({"3"}), At(k2027)));
    EXPECT_EQ(early.jobs[0].reference.ToString(), "2027.00000001");
    core::InboundFax fax;
    fax.dnis = "200";
    const auto received = Must(store_->BeginInbound(fax, At(k2027 + 10)));
    EXPECT_EQ(received.reference.ToString(), "2027.00000002");
    const auto next = Must(store_->Submit(To({"4"}), At(k2027 + 20)));
    EXPECT_EQ(next.jobs[0].reference.ToString(), "2027.00000003");
}

TEST_F(StoreContract, ReferencesAreUniqueAcrossNodes) {
    auto other = Open("node-b");
    std::vector<std::string> references[2];
    std::latch start(2);
    std::vector<std::thread> threads;
    for (int node = 0; node < 2; ++node) {
        threads.emplace_back([&, node] {
            Store& store = node == 0 ? *store_ : *other;
            start.arrive_and_wait();
            for (int i = 0; i < 25; ++i) {
                auto result = store.Submit(To({"0301", "0302"}), clock_.WallNow());
                if (!result) continue;
                for (const auto& job : result->jobs) references[node].push_back(job.reference.ToString());
                core::InboundFax fax;
                auto inbound = store.BeginInbound(fax, clock_.WallNow());
                if (inbound) references[node].push_back(inbound->reference.ToString());
            }
        });
    }
    for (auto& thread : threads) thread.join();
    std::set<std::string> all(references[0].begin(), references[0].end());
    all.insert(references[1].begin(), references[1].end());
    ASSERT_EQ(references[0].size() + references[1].size(), 150u);
    EXPECT_EQ(all.size(), 150u);
    EXPECT_EQ(*all.begin(), "2026.00000001");
    EXPECT_EQ(*all.rbegin(), "2026.00000150");
}

TEST_F(StoreContract, MoveJobIsCompareAndSetAndFollowsTheStateMachine) {
    const auto id = Must(store_->Submit(To({"0301"}), clock_.WallNow())).jobs[0].id;
    EXPECT_TRUE(Must(store_->MoveJob(id, JobState::kQueued, JobState::kConverting, "rendering")));
    EXPECT_FALSE(Must(store_->MoveJob(id, JobState::kQueued, JobState::kConverting, "")));  // moved already
    EXPECT_EQ(Must(store_->GetJob(id)).last_reason, "rendering");

    auto illegal = store_->MoveJob(id, JobState::kConverting, JobState::kSent, "");
    ASSERT_FALSE(illegal);
    EXPECT_EQ(illegal.error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_FALSE(store_->MoveJob(id, JobState::kRetryWait, JobState::kSending, ""));  // only by a claim

    EXPECT_FALSE(Must(store_->MarkRendered(id + 1000, "x.tif", 1)));
    EXPECT_TRUE(Must(store_->MarkRendered(id, "x.tif", 4)));
    EXPECT_FALSE(Must(store_->MarkRendered(id, "y.tif", 5)));  // only from converting
    core::Job job = Must(store_->GetJob(id));
    EXPECT_EQ(job.state, JobState::kScheduled);
    EXPECT_EQ(job.document, "x.tif");
    EXPECT_EQ(job.pages_total, 4);

    EXPECT_TRUE(Must(store_->MoveJob(id, JobState::kScheduled, JobState::kHeld, "operator")));
    EXPECT_TRUE(Must(store_->MoveJob(id, JobState::kHeld, JobState::kCancelled, "user cancelled")));
    EXPECT_EQ(Must(store_->GetJob(id)).state, JobState::kCancelled);
    // Final: nothing moves it any more.
    EXPECT_FALSE(store_->MoveJob(id, JobState::kCancelled, JobState::kScheduled, ""));
    auto finished = Must(store_->connection().Exec("SELECT finished_ns FROM jobs WHERE id = $1", {id}));
    EXPECT_TRUE(finished.rows.at(0)[0].has_value());
}

TEST_F(StoreContract, DueJobsHonourTimesOrderAndLimit) {
    const auto now = clock_.WallNow();
    const core::JobId a = Scheduled(*store_, "0301");
    clock_.Advance(1s);
    const core::JobId b = Scheduled(*store_, "0302");
    core::NewSubmission later = To({"0303"});
    later.send_at = now + 1h;
    const auto c = Must(store_->Submit(later, now)).jobs[0].id;
    Must(store_->MoveJob(c, JobState::kQueued, JobState::kConverting, ""));
    Must(store_->MarkRendered(c, "c.tif", 1));
    const core::JobId queued = Must(store_->Submit(To({"0304"}), now)).jobs[0].id;

    auto due = Must(store_->DueJobs(clock_.WallNow(), 10));
    ASSERT_EQ(due.size(), 2u);
    EXPECT_EQ(due[0].id, a);
    EXPECT_EQ(due[1].id, b);
    EXPECT_EQ(Must(store_->DueJobs(clock_.WallNow(), 1)).size(), 1u);
    EXPECT_EQ(Must(store_->DueJobs(now + 2h, 10)).size(), 3u);

    // A failed attempt waits for its retry time.
    ASSERT_TRUE(Must(store_->ClaimForSending(a, "node-a", now + 60s)));
    core::Attempt busy;
    busy.failure = core::FailureClass::kBusy;
    ASSERT_TRUE(Must(store_->FinishAttempt(a, "node-a", busy, Decide(JobState::kRetryWait, now + 3min))));
    due = Must(store_->DueJobs(clock_.WallNow(), 10));
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].id, b);
    due = Must(store_->DueJobs(now + 3min, 10));
    ASSERT_EQ(due.size(), 2u);
    EXPECT_EQ(due[1].id, a);
    EXPECT_EQ(due[1].state, JobState::kRetryWait);

    auto queue = Must(store_->QueuedJobs(10));
    ASSERT_EQ(queue.size(), 1u);
    EXPECT_EQ(queue[0].id, queued);
}

TEST_F(StoreContract, ClaimIsCompareAndSet) {
    const core::JobId id = Scheduled(*store_, "0301");
    const auto lease = clock_.WallNow() + 60s;
    EXPECT_TRUE(Must(store_->ClaimForSending(id, "node-a", lease)));
    EXPECT_FALSE(Must(store_->ClaimForSending(id, "node-b", lease)));
    const core::Job job = Must(store_->GetJob(id));
    EXPECT_EQ(job.state, JobState::kSending);
    EXPECT_EQ(job.dials, 1);
    EXPECT_EQ(Must(store_->NumbersInCall()), std::vector<std::string>{"0301"});
    auto held = Must(store_->connection().Exec("SELECT node, lease_until_ns FROM jobs WHERE id = $1", {id}));
    EXPECT_EQ(*held.rows[0][0], "node-a");
    EXPECT_EQ(*held.rows[0][1], std::to_string(lease.time_since_epoch().count()));
    const core::JobId queued = Must(store_->Submit(To({"0302"}), clock_.WallNow())).jobs[0].id;
    EXPECT_FALSE(Must(store_->ClaimForSending(queued, "node-a", lease)));  // not scheduled yet
}

TEST_F(StoreContract, OneCallPerNumberIsEnforcedByTheDatabase) {
    const core::JobId first = Scheduled(*store_, "0301");
    const core::JobId second = Scheduled(*store_, "0301");
    const core::JobId other = Scheduled(*store_, "0302");
    auto node_b = Open("node-b");
    const auto lease = clock_.WallNow() + 60s;
    ASSERT_TRUE(Must(store_->ClaimForSending(first, "node-a", lease)));
    EXPECT_FALSE(Must(node_b->ClaimForSending(second, "node-b", lease)));
    EXPECT_EQ(Must(store_->GetJob(second)).state, JobState::kScheduled);  // untouched
    EXPECT_EQ(Must(store_->GetJob(second)).dials, 0);
    EXPECT_TRUE(Must(node_b->ClaimForSending(other, "node-b", lease)));
    core::Attempt sent;
    sent.pages_confirmed = 3;
    ASSERT_TRUE(Must(store_->FinishAttempt(first, "node-a", sent, Decide(JobState::kSent))));
    EXPECT_TRUE(Must(node_b->ClaimForSending(second, "node-b", lease)));
}

TEST_F(StoreContract, TwoConnectionsRacingForOneJobOneWins) {
    auto node_b = Open("node-b");
    for (int round = 0; round < 20; ++round) {
        const core::JobId id = Scheduled(*store_, "05" + std::to_string(round));
        std::atomic<int> wins{0};
        std::atomic<int> errors{0};
        std::latch start(2);
        auto race = [&](Store& store, const std::string& node) {
            start.arrive_and_wait();
            auto claimed = store.ClaimForSending(id, node, clock_.WallNow() + 60s);
            if (!claimed) ++errors;
            if (claimed && *claimed) ++wins;
        };
        std::thread a(race, std::ref(*store_), "node-a");
        std::thread b(race, std::ref(*node_b), "node-b");
        a.join();
        b.join();
        EXPECT_EQ(errors.load(), 0);
        EXPECT_EQ(wins.load(), 1) << "round " << round;
        EXPECT_EQ(Must(store_->GetJob(id)).dials, 1);
    }
}

TEST_F(StoreContract, FinishAttemptAppliesOnlyForTheHolder) {
    const core::JobId id = Scheduled(*store_, "0301");
    ASSERT_TRUE(Must(store_->ClaimForSending(id, "node-a", clock_.WallNow() + 60s)));
    core::Attempt dropped;
    dropped.started = clock_.WallNow();
    dropped.duration_seconds = 42.5;
    dropped.route = "trunk-a";
    dropped.used_t38 = true;
    dropped.failure = core::FailureClass::kCallDropped;
    dropped.sip_status = 200;
    dropped.t30_code = 17;
    dropped.reason = "call dropped on page 3";
    dropped.pages_confirmed = 2;
    dropped.bit_rate = 14400;
    dropped.remote_ident = "+49 30 1234";
    core::RetryDecision retry = Decide(JobState::kRetryWait, clock_.WallNow() + 1min);
    retry.hints.prefer_audio = true;
    retry.reason = "retry in 1 min";

    EXPECT_FALSE(Must(store_->FinishAttempt(id, "node-b", dropped, retry)));  // not its claim
    EXPECT_TRUE(Must(store_->Attempts(id)).empty());
    ASSERT_TRUE(Must(store_->FinishAttempt(id, "node-a", dropped, retry)));
    EXPECT_FALSE(Must(store_->FinishAttempt(id, "node-a", dropped, retry)));  // applied once

    core::Job job = Must(store_->GetJob(id));
    EXPECT_EQ(job.state, JobState::kRetryWait);
    EXPECT_EQ(job.next_attempt_at, clock_.WallNow() + 1min);
    EXPECT_EQ(job.pages_confirmed, 2);
    EXPECT_EQ(job.tries, 1);  // a dropped call reached the fax
    EXPECT_EQ(job.dials, 1);
    EXPECT_TRUE(job.prefer_audio);
    EXPECT_EQ(job.last_failure, core::FailureClass::kCallDropped);
    EXPECT_EQ(job.last_reason, "retry in 1 min");
    EXPECT_TRUE(Must(store_->NumbersInCall()).empty());
    auto attempts = Must(store_->Attempts(id));
    ASSERT_EQ(attempts.size(), 1u);
    EXPECT_EQ(attempts[0].number, 1);
    EXPECT_EQ(attempts[0].started, dropped.started);
    EXPECT_DOUBLE_EQ(attempts[0].duration_seconds, 42.5);
    EXPECT_EQ(attempts[0].route, "trunk-a");
    EXPECT_TRUE(attempts[0].used_t38);
    EXPECT_EQ(attempts[0].failure, core::FailureClass::kCallDropped);
    EXPECT_EQ(attempts[0].sip_status, 200);
    EXPECT_EQ(attempts[0].t30_code, 17);
    EXPECT_EQ(attempts[0].bit_rate, 14400);
    EXPECT_EQ(attempts[0].remote_ident, "+49 30 1234");
    EXPECT_EQ(Must(store_->CountFailures(id, core::FailureClass::kCallDropped)), 1);

    // The second attempt: busy (no fax reached), then a third that finishes it.
    clock_.Advance(1min);
    ASSERT_TRUE(Must(store_->ClaimForSending(id, "node-a", clock_.WallNow() + 60s)));
    core::Attempt busy;
    busy.failure = core::FailureClass::kBusy;
    ASSERT_TRUE(
        Must(store_->FinishAttempt(id, "node-a", busy, Decide(JobState::kRetryWait, clock_.WallNow()))));
    ASSERT_TRUE(Must(store_->ClaimForSending(id, "node-a", clock_.WallNow() + 60s)));
    core::Attempt rest;
    rest.pages_confirmed = 1;
    auto invalid = store_->FinishAttempt(id, "node-a", rest, Decide(JobState::kQueued));
    ASSERT_FALSE(invalid);  // sending -> queued is no legal end of an attempt
    ASSERT_TRUE(Must(store_->FinishAttempt(id, "node-a", rest, Decide(JobState::kSent))));
    job = Must(store_->GetJob(id));
    EXPECT_EQ(job.state, JobState::kSent);
    EXPECT_EQ(job.pages_confirmed, 3);
    EXPECT_EQ(job.tries, 2);
    EXPECT_EQ(job.dials, 3);
    attempts = Must(store_->Attempts(id));
    ASSERT_EQ(attempts.size(), 3u);
    EXPECT_EQ(attempts[1].number, 2);
    EXPECT_EQ(attempts[2].number, 3);
    EXPECT_EQ(Must(store_->CountFailures(id, core::FailureClass::kBusy)), 1);
    auto finished = Must(store_->connection().Exec("SELECT finished_ns FROM jobs WHERE id = $1", {id}));
    EXPECT_EQ(*finished.rows[0][0], std::to_string(clock_.WallNow().time_since_epoch().count()));
}

TEST_F(StoreContract, ADeadNodesCallsAreRecoveredAfterItsLease) {
    auto node_b = Open("node-b");
    const core::JobId id = Scheduled(*store_, "0301");
    const auto t0 = clock_.WallNow();
    ASSERT_TRUE(Must(store_->ClaimForSending(id, "node-a", t0 + 60s)));
    EXPECT_TRUE(Must(node_b->RecoverInterrupted("node-b", t0 + 30s, false)).empty());
    Must(store_->RenewLeases("node-a", t0 + 120s));  // alive: renews
    EXPECT_TRUE(Must(node_b->RecoverInterrupted("node-b", t0 + 90s, false)).empty());
    // node-a dies: no more renewals.
    auto recovered = Must(node_b->RecoverInterrupted("node-b", t0 + 121s, false));
    ASSERT_EQ(recovered, std::vector<core::JobId>{id});
    EXPECT_TRUE(Must(node_b->RecoverInterrupted("node-b", t0 + 122s, false)).empty());  // once
    const core::Job job = Must(store_->GetJob(id));
    EXPECT_EQ(job.state, JobState::kRetryWait);
    EXPECT_EQ(job.next_attempt_at, t0 + 121s);
    EXPECT_EQ(job.last_failure, core::FailureClass::kInterrupted);
    auto attempts = Must(store_->Attempts(id));
    ASSERT_EQ(attempts.size(), 1u);
    EXPECT_EQ(attempts[0].failure, core::FailureClass::kInterrupted);
    EXPECT_EQ(attempts[0].number, 1);
    EXPECT_TRUE(Must(store_->NumbersInCall()).empty());
    // The late result of the dead node is refused; node-b may dial again.
    core::Attempt late;
    EXPECT_FALSE(Must(store_->FinishAttempt(id, "node-a", late, Decide(JobState::kSent))));
    EXPECT_TRUE(Must(node_b->ClaimForSending(id, "node-b", t0 + 200s)));
    EXPECT_EQ(Must(store_->GetJob(id)).dials, 2);
}

TEST_F(StoreContract, ARestartedNodeRecoversItsOwnClaims) {
    const core::JobId sending = Scheduled(*store_, "0301");
    const core::JobId others = Scheduled(*store_, "0302");
    auto node_b = Open("node-b");
    const auto now = clock_.WallNow();
    ASSERT_TRUE(Must(store_->ClaimForSending(sending, "node-a", now + 60s)));
    ASSERT_TRUE(Must(node_b->ClaimForSending(others, "node-b", now + 60s)));
    const core::JobId converting = Must(store_->Submit(To({"0303"}), now)).jobs[0].id;
    ASSERT_TRUE(Must(store_->MoveJob(converting, JobState::kQueued, JobState::kConverting, "")));

    EXPECT_TRUE(Must(store_->RecoverInterrupted("node-a", now, false)).empty());
    auto recovered = Must(store_->RecoverInterrupted("node-a", now, true));
    std::sort(recovered.begin(), recovered.end());
    EXPECT_EQ(recovered, (std::vector<core::JobId>{sending, converting}));
    EXPECT_EQ(Must(store_->GetJob(sending)).state, JobState::kRetryWait);
    EXPECT_EQ(Must(store_->GetJob(converting)).state, JobState::kQueued);
    EXPECT_EQ(Must(store_->GetJob(others)).state, JobState::kSending);  // node-b's call is alive
}

TEST_F(StoreContract, ADeadConvertersJobsGoBackToTheQueue) {
    const auto now = clock_.WallNow();
    const core::JobId id = Must(store_->Submit(To({"0301"}), now)).jobs[0].id;
    ASSERT_TRUE(Must(store_->MoveJob(id, JobState::kQueued, JobState::kConverting, "")));
    auto node_b = Open("node-b");
    EXPECT_TRUE(Must(node_b->RecoverInterrupted("node-b", now + 59s, false)).empty());
    Must(store_->RenewLeases("node-a", now + 120s));
    EXPECT_TRUE(Must(node_b->RecoverInterrupted("node-b", now + 100s, false)).empty());
    EXPECT_EQ(Must(node_b->RecoverInterrupted("node-b", now + 121s, false)), std::vector<core::JobId>{id});
    EXPECT_EQ(Must(store_->GetJob(id)).state, JobState::kQueued);
    EXPECT_FALSE(Must(store_->MarkRendered(id, "late.tif", 1)));  // the dead converter's result is refused
}

// Two nodes dispatch one queue at once, in a loop, each holding several calls at a time: no job is claimed
// twice and no number ever has two calls.
TEST_F(StoreContract, TwoNodesDispatchingConcurrentlyNeverDoubleClaim) {
    constexpr int kJobs = 120;
    constexpr int kNumbers = 12;
    for (int i = 0; i < kJobs; ++i) Scheduled(*store_, "06" + std::to_string(i % kNumbers));
    auto node_b = Open("node-b");
    std::mutex mutex;
    std::map<core::JobId, int> claims;
    std::set<std::string> in_call;
    std::atomic<int> violations{0};
    std::atomic<int> errors{0};
    std::latch start(2);
    auto dispatch = [&](Store& store, const std::string& node) {
        start.arrive_and_wait();
        for (int round = 0; round < 2000; ++round) {
            auto due = store.DueJobs(clock_.WallNow(), 20);
            if (!due) {
                ++errors;
                return;
            }
            if (due->empty()) return;
            std::vector<core::Job> mine;
            for (const core::Job& job : *due) {
                if (mine.size() >= 3) break;
                auto claimed = store.ClaimForSending(job.id, node, clock_.WallNow() + 60s);
                if (!claimed) ++errors;
                if (!claimed || !*claimed) continue;
                std::lock_guard lock(mutex);
                if (++claims[job.id] > 1) ++violations;
                if (!in_call.insert(job.number).second) ++violations;
                mine.push_back(job);
            }
            std::this_thread::yield();
            for (const core::Job& job : mine) {
                {
                    std::lock_guard lock(mutex);
                    in_call.erase(job.number);  // before the row leaves 'sending': no false alarm
                }
                core::Attempt sent;
                auto finished = store.FinishAttempt(job.id, node, sent, Decide(JobState::kSent));
                if (!finished || !*finished) ++errors;
            }
        }
    };
    std::thread a(dispatch, std::ref(*store_), "node-a");
    std::thread b(dispatch, std::ref(*node_b), "node-b");
    a.join();
    b.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(violations.load(), 0);
    EXPECT_EQ(claims.size(), static_cast<std::size_t>(kJobs));
    auto sent = Must(store_->connection().Exec("SELECT COUNT(*) FROM jobs WHERE state = 'sent'"));
    EXPECT_EQ(*sent.rows[0][0], std::to_string(kJobs));
}

TEST_F(StoreContract, DestinationHintsAndSettings) {
    EXPECT_FALSE(Must(store_->HintsFor("0301")).prefer_audio);
    Must(store_->RememberHints("0301", {true, false}));
    Must(store_->RememberHints("0301", {true, true}));
    const auto hints = Must(store_->HintsFor("0301"));
    EXPECT_TRUE(hints.prefer_audio);
    EXPECT_TRUE(hints.disable_ecm);

    EXPECT_FALSE(Must(store_->GetSetting("queue.stopped_until")).has_value());
    Must(store_->PutSetting("queue.stopped_until", "1"));
    Must(store_->PutSetting("queue.stopped_until", "2"));
    EXPECT_EQ(Must(store_->GetSetting("queue.stopped_until")), std::optional<std::string>("2"));
}

}  // namespace
}  // namespace faxd::store
