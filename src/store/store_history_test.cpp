// The store contract, continued: received faxes, the API listings, purging, and what an interrupted or killed
// transaction leaves behind. Runs against SQLite (store_test) and PostgreSQL (store_pg_test).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "store/store_contract_fixture.hpp"

namespace faxd::store {
namespace {

using namespace std::chrono_literals;
using namespace contract;
using core::JobState;
using testing::Must;

core::InboundFax Call(const std::string& node, std::vector<core::UserId> recipients, core::UserId owner) {
    core::InboundFax fax;
    fax.dnis = "200";
    fax.ani = "0301";
    fax.call_id = "call-" + std::to_string(recipients.size());
    fax.node = node;
    core::InboundDestination destination;
    destination.kind = core::OwnerKind::kUser;
    destination.owner = owner;
    destination.recipients = std::move(recipients);
    destination.matched_by = "number 200";
    fax.destination = std::move(destination);
    return fax;
}

std::string Count(Store& store, const std::string& sql) {
    return *Must(store.connection().Exec(sql)).rows.at(0).at(0);
}

TEST_F(StoreContract, InboundLifecycle) {
    const auto now = clock_.WallNow();
    core::InboundFax begun = Must(store_->BeginInbound(Call("node-a", {alice_, bob_}, alice_), now));
    EXPECT_GT(begun.id, 0);
    EXPECT_EQ(begun.state, core::InboundState::kReceiving);
    EXPECT_EQ(begun.reference.ToString(), "2026.00000001");
    EXPECT_EQ(begun.started, now);
    core::InboundFax stored = Must(store_->GetInbound(begun.id));
    EXPECT_EQ(stored.reference, begun.reference);
    EXPECT_EQ(stored.node, "node-a");
    EXPECT_EQ(stored.call_id, "call-2");
    ASSERT_TRUE(stored.destination.has_value());
    EXPECT_EQ(stored.destination->recipients, (std::vector<core::UserId>{alice_, bob_}));
    EXPECT_EQ(stored.destination->matched_by, "number 200");

    begun.state = core::InboundState::kReceived;
    begun.pages = 3;
    begun.duration_seconds = 61.5;
    begun.document = "in.tif";
    begun.remote_ident = "+49 30 999";
    begun.destination->recipients = {bob_};
    Must(store_->FinishInbound(begun));
    stored = Must(store_->GetInbound(begun.id));
    EXPECT_EQ(stored.state, core::InboundState::kReceived);
    EXPECT_EQ(stored.pages, 3);
    EXPECT_DOUBLE_EQ(stored.duration_seconds, 61.5);
    EXPECT_EQ(stored.document, "in.tif");
    EXPECT_EQ(stored.remote_ident, "+49 30 999");
    EXPECT_EQ(stored.destination->recipients, std::vector<core::UserId>{bob_});

    core::InboundFax unknown;
    unknown.id = 999999;
    EXPECT_EQ(store_->FinishInbound(unknown).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(store_->GetInbound(999999).error().code, base::ErrorCode::kNotFound);
    // Nobody took it: no destination, still recorded.
    core::InboundFax orphan;
    orphan.node = "node-a";
    const auto recorded = Must(store_->BeginInbound(orphan, now));
    EXPECT_FALSE(Must(store_->GetInbound(recorded.id)).destination.has_value());
}

TEST_F(StoreContract, StaleReceptionsOfADeadNodeAreHandedOutOnce) {
    const auto t0 = clock_.WallNow();
    const auto dead = Must(store_->BeginInbound(Call("node-a", {alice_}, alice_), t0));  // lease t0 + 60 s
    auto node_b = Open("node-b");
    auto node_c = Open("node-c");
    EXPECT_TRUE(Must(node_b->StaleInbound("node-b", t0 + 30s, false)).empty());
    Must(store_->RenewLeases("node-a", t0 + 120s));
    EXPECT_TRUE(Must(node_b->StaleInbound("node-b", t0 + 100s, false)).empty());
    auto stale = Must(node_b->StaleInbound("node-b", t0 + 121s, false));
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].id, dead.id);
    EXPECT_EQ(stale[0].node, "node-a");  // who was receiving it
    ASSERT_TRUE(stale[0].destination.has_value());
    EXPECT_EQ(stale[0].destination->recipients, std::vector<core::UserId>{alice_});
    EXPECT_TRUE(Must(node_c->StaleInbound("node-c", t0 + 122s, false)).empty());  // node-b has it now
    stale[0].state = core::InboundState::kPartial;
    Must(node_b->FinishInbound(stale[0]));
    EXPECT_TRUE(Must(node_c->StaleInbound("node-c", t0 + 1h, false)).empty());

    // After a restart a node finds its own receptions whatever their lease.
    const auto own = Must(node_c->BeginInbound(Call("node-c", {bob_}, bob_), t0 + 2h));
    EXPECT_TRUE(Must(node_c->StaleInbound("node-c", t0 + 2h, false)).empty());
    stale = Must(node_c->StaleInbound("node-c", t0 + 2h, true));
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].id, own.id);
}

TEST_F(StoreContract, ListJobsPagesNewestFirstWithFilters) {
    std::vector<core::Job> alices;
    for (int i = 0; i < 20; ++i) {
        clock_.Advance(1s);
        auto result = Must(store_->Submit(To({"07" + std::to_string(i)}), clock_.WallNow()));
        alices.push_back(result.jobs[0]);
    }
    clock_.Advance(1s);
    for (auto& job : Must(store_->Submit(To({"081", "082", "083", "084", "085"}), clock_.WallNow())).jobs) {
        alices.push_back(job);  // five jobs with one creation time: the id breaks the tie
    }
    for (int i = 0; i < 3; ++i) Must(store_->Submit(To({"0999"}, bob_), clock_.WallNow()));
    std::sort(alices.begin(), alices.end(), [](const core::Job& a, const core::Job& b) {
        return std::pair(a.created, a.id) > std::pair(b.created, b.id);
    });

    JobFilter mine;
    mine.owner = alice_;
    std::vector<core::JobId> seen;
    std::optional<PageCursor> cursor;
    int pages = 0;
    do {
        auto page = Must(store_->ListJobs(mine, cursor, 10));
        for (const auto& job : page.items) seen.push_back(job.id);
        cursor = page.next;
        ++pages;
    } while (cursor && pages < 10);
    EXPECT_EQ(pages, 3);
    ASSERT_EQ(seen.size(), alices.size());
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], alices[i].id) << i;

    Must(store_->MoveJob(alices[3].id, JobState::kQueued, JobState::kHeld, ""));
    Must(store_->MoveJob(alices[7].id, JobState::kQueued, JobState::kHeld, ""));
    JobFilter held = mine;
    held.state = JobState::kHeld;
    auto page = Must(store_->ListJobs(held, std::nullopt, 50));
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_EQ(page.items[0].id, alices[3].id);
    EXPECT_FALSE(page.next.has_value());

    JobFilter by_reference;
    by_reference.reference = alices[5].reference;
    page = Must(store_->ListJobs(by_reference, std::nullopt, 50));
    ASSERT_EQ(page.items.size(), 1u);
    EXPECT_EQ(page.items[0].id, alices[5].id);

    JobFilter by_number;
    by_number.number = "0999";
    EXPECT_EQ(Must(store_->ListJobs(by_number, std::nullopt, 50)).items.size(), 3u);
    by_number.owner = alice_;
    EXPECT_TRUE(Must(store_->ListJobs(by_number, std::nullopt, 50)).items.empty());
}

TEST_F(StoreContract, ListInboundPagesAUsersInbox) {
    std::vector<std::int64_t> alices;
    for (int i = 0; i < 12; ++i) {
        clock_.Advance(1s);
        std::vector<core::UserId> to =
            i % 3 == 0 ? std::vector<core::UserId>{bob_, alice_} : std::vector<core::UserId>{alice_};
        auto fax = Must(store_->BeginInbound(Call("node-a", to, alice_), clock_.WallNow()));
        alices.push_back(fax.id);
        if (i % 2 == 0) {
            fax.state = core::InboundState::kReceived;
            Must(store_->FinishInbound(fax));
        }
    }
    for (int i = 0; i < 3; ++i) Must(store_->BeginInbound(Call("node-a", {bob_}, bob_), clock_.WallNow()));
    std::reverse(alices.begin(), alices.end());

    InboundFilter inbox;
    inbox.recipient = alice_;
    std::vector<std::int64_t> seen;
    std::optional<PageCursor> cursor;
    do {
        auto page = Must(store_->ListInbound(inbox, cursor, 5));
        for (const auto& fax : page.items) {
            seen.push_back(fax.id);
            ASSERT_TRUE(fax.destination.has_value());
            const auto& who = fax.destination->recipients;
            EXPECT_NE(std::find(who.begin(), who.end(), alice_), who.end());
        }
        cursor = page.next;
    } while (cursor && seen.size() < 100);
    EXPECT_EQ(seen, alices);

    InboundFilter received = inbox;
    received.state = core::InboundState::kReceived;
    EXPECT_EQ(Must(store_->ListInbound(received, std::nullopt, 50)).items.size(), 6u);
    InboundFilter bobs;
    bobs.recipient = bob_;
    EXPECT_EQ(Must(store_->ListInbound(bobs, std::nullopt, 50)).items.size(), 7u);
    EXPECT_EQ(Must(store_->ListInbound(InboundFilter{}, std::nullopt, 100)).items.size(), 15u);
}

TEST_F(StoreContract, PurgeDeletesOldHistoryAndReturnsItsDocuments) {
    const auto t0 = clock_.WallNow();
    auto send = [&](core::JobId id, JobState end) {
        ASSERT_TRUE(Must(store_->ClaimForSending(id, "node-a", clock_.WallNow() + 60s)));
        core::Attempt attempt;
        attempt.failure = end == JobState::kSent ? core::FailureClass::kNone : core::FailureClass::kBadNumber;
        ASSERT_TRUE(Must(store_->FinishAttempt(id, "node-a", attempt, Decide(end))));
    };
    auto render = [&](core::JobId id, const std::string& document) {
        ASSERT_TRUE(Must(store_->MoveJob(id, JobState::kQueued, JobState::kConverting, "")));
        ASSERT_TRUE(Must(store_->MarkRendered(id, document, 1)));
    };
    core::NewSubmission broadcast = To({"0301", "0302"});
    broadcast.documents = {"orig1.pdf"};
    const auto one = Must(store_->Submit(broadcast, t0)).jobs;
    core::NewSubmission single = To({"0303"});
    single.documents = {"orig2.pdf", "orig2b.pdf"};
    const auto two = Must(store_->Submit(single, t0)).jobs;
    const auto three = Must(store_->Submit(To({"0304"}), t0)).jobs;
    render(one[0].id, "r1.tif");
    render(one[1].id, "r1.tif");
    render(two[0].id, "r2.tif");
    render(three[0].id, "r3.tif");
    core::InboundFax old_in = Must(store_->BeginInbound(Call("node-a", {alice_}, alice_), t0));
    old_in.state = core::InboundState::kReceived;
    old_in.document = "in1.tif";
    Must(store_->FinishInbound(old_in));
    const auto receiving = Must(store_->BeginInbound(Call("node-a", {alice_}, alice_), t0));

    clock_.Advance(1h);
    send(one[0].id, JobState::kSent);    // its twin still waits: r1.tif and orig1.pdf stay
    send(two[0].id, JobState::kFailed);  // the whole submission goes
    clock_.Advance(2h);
    send(three[0].id, JobState::kSent);  // finished after the cut
    core::InboundFax new_in = Must(store_->BeginInbound(Call("node-a", {alice_}, alice_), clock_.WallNow()));
    new_in.state = core::InboundState::kReceived;
    new_in.document = "in2.tif";
    Must(store_->FinishInbound(new_in));

    const auto documents = Must(store_->PurgeOlderThan(t0 + 2h));
    EXPECT_EQ(documents, (std::vector<std::string>{"in1.tif", "orig2.pdf", "orig2b.pdf", "r2.tif"}));
    EXPECT_EQ(store_->GetJob(one[0].id).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(store_->GetJob(two[0].id).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(Must(store_->GetJob(one[1].id)).state, JobState::kScheduled);
    EXPECT_EQ(Must(store_->GetJob(three[0].id)).state, JobState::kSent);
    EXPECT_EQ(Must(store_->GetSubmission(one[0].submission)).documents,
              std::vector<std::string>{"orig1.pdf"});
    EXPECT_EQ(store_->GetSubmission(two[0].submission).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(Count(*store_, "SELECT COUNT(*) FROM attempts"), "1");  // three's
    EXPECT_EQ(store_->GetInbound(old_in.id).error().code, base::ErrorCode::kNotFound);
    EXPECT_EQ(Must(store_->GetInbound(receiving.id)).state, core::InboundState::kReceiving);
    EXPECT_EQ(Must(store_->GetInbound(new_in.id)).document, "in2.tif");
    EXPECT_EQ(Count(*store_, "SELECT COUNT(*) FROM inbound_recipients"), "2");
    EXPECT_TRUE(Must(store_->PurgeOlderThan(t0 + 2h)).empty());  // again: nothing left to purge

    // Later, the twin finishes and the rest of the broadcast goes with its shared documents.
    send(one[1].id, JobState::kSent);
    EXPECT_EQ(Must(store_->PurgeOlderThan(clock_.WallNow() + 1s)),
              (std::vector<std::string>{"doc-original.pdf", "in2.tif", "orig1.pdf", "r1.tif", "r3.tif"}));
    EXPECT_EQ(Count(*store_, "SELECT COUNT(*) FROM submissions"), "0");
}

TEST_F(StoreContract, AnInterruptedTransactionLeavesNothing) {
    Connection& c = store_->connection();
    try {
        auto tx = Must(Transaction::Begin(c, TxMode::kWrite));
        Must(c.Exec("INSERT INTO settings (key, value) VALUES ($1, $2)", {"a", "1"}));
        throw std::runtime_error("crash between two statements");
    } catch (const std::runtime_error&) {
    }
    EXPECT_FALSE(c.InTransaction());
    EXPECT_EQ(Count(*store_, "SELECT COUNT(*) FROM settings"), "0");

    // A unique violation is an answer when the caller expects one, an error otherwise.
    Must(c.Exec("INSERT INTO settings (key, value) VALUES ($1, $2)", {"a", "1"}));
    auto refused = Must(
        c.Exec("INSERT INTO settings (key, value) VALUES ($1, $2)", {"a", "2"}, OnUniqueViolation::kReport));
    EXPECT_TRUE(refused.unique_violation);
    EXPECT_FALSE(c.Exec("INSERT INTO settings (key, value) VALUES ($1, $2)", {"a", "3"}));
    auto nulls = Must(c.Exec("SELECT NULL, 'x', 42"));
    EXPECT_FALSE(nulls.rows.at(0)[0].has_value());
    EXPECT_EQ(*nulls.rows[0][1], "x");
    EXPECT_EQ(*nulls.rows[0][2], "42");
}

// A process that submits large broadcasts in a loop is killed with SIGKILL at random moments (mostly in the
// middle of a transaction): every submission that exists has all its jobs, and the reference counter counts
// exactly the jobs that exist.
TEST_F(StoreContract, AKilledWriterLeavesNoPartialSubmission) {
    constexpr int kRecipients = 200;
    std::vector<std::string> numbers;
    for (int i = 0; i < kRecipients; ++i) numbers.push_back("09" + std::to_string(i));
    const core::NewSubmission broadcast = To(numbers);
    std::mt19937 random(12345);
    for (int round = 0; round < 4; ++round) {
        const int before = std::stoi(Count(*store_, "SELECT COUNT(*) FROM submissions"));
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            // The child has a connection of its own; it never touches the parent's and never returns.
            StoreOptions options;
            options.node = "child";
            auto store = OpenStore(url_, options);
            if (!store) ::_exit(2);
            for (;;) (void)(*store)->Submit(broadcast, At(k2026));
        }
        // Wait until the child committed one more submission, then kill it a little later.
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::stoi(Count(*store_, "SELECT COUNT(*) FROM submissions")) <= before &&
               std::chrono::steady_clock::now() < deadline) {
        }
        const int extra = static_cast<int>(random() % 40);
        for (int i = 0; i < extra; ++i) (void)Count(*store_, "SELECT COUNT(*) FROM reference_counters");
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself: " << status;
    }
    // A killed client's PostgreSQL backend lives on until it notices the closed socket, and may still run
    // the COMMIT the child sent just before it died: count only once no other session is left.
    if (url_.rfind("postgres", 0) == 0) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (Count(*store_,
                     "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                     "pid <> pg_backend_pid()") != "0") {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the killed writers' sessions never ended";
            std::this_thread::sleep_for(10ms);
        }
    }
    auto groups =
        Must(store_->connection().Exec("SELECT submission_id, COUNT(*) FROM jobs GROUP BY submission_id"));
    const std::string submissions = Count(*store_, "SELECT COUNT(*) FROM submissions");
    EXPECT_GE(std::stoi(submissions), 4);
    EXPECT_EQ(groups.rows.size(), static_cast<std::size_t>(std::stoi(submissions)));
    for (const Row& row : groups.rows)
        EXPECT_EQ(*row[1], std::to_string(kRecipients)) << "submission " << *row[0];
    EXPECT_EQ(Count(*store_, "SELECT value FROM reference_counters WHERE year = 2026"),
              Count(*store_, "SELECT COUNT(*) FROM jobs"));
    EXPECT_EQ(Count(*store_, "SELECT COUNT(*) FROM submission_documents"), submissions);
    // The database is writable again (no lock left behind by the dead writer).
    EXPECT_TRUE(store_->Submit(To({"0301"}), clock_.WallNow()));
}

}  // namespace
}  // namespace faxd::store
