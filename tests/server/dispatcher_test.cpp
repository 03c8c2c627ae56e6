// The job pipeline on simulated time with the real parts around it: a SQLite store in a temporary directory,
// the real spool and renderer (text documents), and a scripted line that ends each call the way the test says
// (the SIP side has its own end-to-end tests with two faxd processes).
#include <gtest/gtest.h>

#include <deque>
#include <fstream>

#include "app/fax_renderer.hpp"
#include "core/dispatcher.hpp"
#include "core/inbound.hpp"
#include "core/queue_control.hpp"
#include "render/subprocess.hpp"
#include "store/spool.hpp"
#include "store/store.hpp"

namespace faxd {
namespace {

using namespace std::chrono_literals;
using core::FailureClass;
using core::JobState;

class ScriptedLine final : public core::FaxLine {
public:
    struct Call {
        core::OutgoingFax fax;
        std::function<void(int)> on_page;
        std::function<void(core::Attempt)> done;
    };
    void Send(const core::OutgoingFax& fax, std::function<void(int)> on_page,
              std::function<void(core::Attempt)> done) override {
        calls.push_back({fax, std::move(on_page), std::move(done)});
        ++in_call;
    }
    void Cancel(core::JobId job) override { cancelled.push_back(job); }
    core::LineUse Usage() const override {
        core::LineUse use;
        use.outgoing = in_call;
        return use;
    }
    // Ends the oldest open call.
    void End(FailureClass failure, int pages, bool t38 = true, bool ecm = true) {
        ASSERT_FALSE(calls.empty());
        Call call = std::move(calls.front());
        calls.pop_front();
        --in_call;
        core::Attempt attempt;
        attempt.failure = failure;
        attempt.pages_confirmed = pages;
        attempt.used_t38 = t38;
        attempt.ecm = ecm;
        attempt.reason = std::string(core::FailureClassName(failure));
        call.done(attempt);
    }
    std::deque<Call> calls;
    std::vector<core::JobId> cancelled;
    int in_call = 0;
};

class DispatcherTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto dir = render::TempDir::Create(std::filesystem::temp_directory_path(), "faxd-dispatch-test-");
        ASSERT_TRUE(dir);
        dir_.emplace(std::move(*dir));
        store::StoreOptions options;
        options.node = "node-a";
        options.clock = &clock_;
        auto opened = store::OpenStore("sqlite:" + (dir_->Path() / "faxd.db").string(), options);
        ASSERT_TRUE(opened) << opened.error().ToString();
        store_ = std::move(*opened);
        auto spool = store::Spool::Open(dir_->Path() / "spool");
        ASSERT_TRUE(spool);
        spool_.emplace(std::move(*spool));
        app::FaxRendererConfig render_config;
        render_config.options.temp_parent = dir_->Path();
        renderer_ = std::make_unique<app::FaxRenderer>(*spool_, render_config);
        core::User alice;
        alice.login = "alice";
        auto id = store_->AddUser(alice);
        ASSERT_TRUE(id);
        alice_ = *id;
        dispatcher_ = MakeDispatcher("node-a");
    }

    std::unique_ptr<core::Dispatcher> MakeDispatcher(const std::string& node) {
        core::DispatcherConfig config;
        config.node = node;
        config.lines.channels = 10;
        config.lines.max_outgoing = 10;
        config.lines.reserved_for_incoming = 0;
        return std::make_unique<core::Dispatcher>(*store_, line_, *renderer_, clock_, config);
    }

    // A three-page text document, submitted to `numbers`.
    std::vector<core::Job> Submit(std::vector<std::string> numbers, int priority = 100) {
        auto name = spool_->Put(std::string_view("page one\fpage two\fpage three\n"), "txt");
        EXPECT_TRUE(name);
        core::NewSubmission submission;
        submission.owner = alice_;
        submission.documents = {*name};
        submission.priority = priority;
        for (auto& number : numbers) submission.recipients.push_back({number, ""});
        auto result = store_->Submit(submission, clock_.WallNow());
        EXPECT_TRUE(result) << result.error().ToString();
        return result ? result->jobs : std::vector<core::Job>{};
    }

    core::Job Job(core::JobId id) {
        auto job = store_->GetJob(id);
        EXPECT_TRUE(job);
        return *job;
    }
    int Round() {
        auto started = dispatcher_->DispatchRound();
        EXPECT_TRUE(started) << started.error().ToString();
        return started ? *started : -1;
    }
    void Advance(std::chrono::seconds step) { clock_.Advance(step); }

    std::optional<render::TempDir> dir_;
    base::SimulatedClock clock_{base::WallTime{std::chrono::seconds{1'790'000'000}}};
    std::unique_ptr<store::Store> store_;
    std::optional<store::Spool> spool_;
    std::unique_ptr<app::FaxRenderer> renderer_;
    ScriptedLine line_;
    std::unique_ptr<core::Dispatcher> dispatcher_;
    core::UserId alice_ = 0;
};

TEST_F(DispatcherTest, RendersSendsAndRecordsASuccess) {
    const auto jobs = Submit({"+15550100"});
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(Round(), 0);  // not rendered yet
    auto ready = dispatcher_->RenderQueued(10);
    ASSERT_TRUE(ready) << ready.error().ToString();
    EXPECT_EQ(*ready, 1);
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kScheduled);
    EXPECT_EQ(Job(jobs[0].id).pages_total, 3);
    EXPECT_EQ(Round(), 1);
    ASSERT_EQ(line_.calls.size(), 1u);
    EXPECT_EQ(line_.calls[0].fax.first_page, 1);
    EXPECT_EQ(line_.calls[0].fax.reference, jobs[0].reference);
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kSending);
    line_.End(FailureClass::kNone, 3);
    Round();
    const auto done = Job(jobs[0].id);
    EXPECT_EQ(done.state, JobState::kSent);
    EXPECT_EQ(done.pages_confirmed, 3);
    auto attempts = store_->Attempts(jobs[0].id);
    ASSERT_TRUE(attempts);
    ASSERT_EQ(attempts->size(), 1u);
    EXPECT_EQ((*attempts)[0].failure, FailureClass::kNone);
}

TEST_F(DispatcherTest, BusyWaitsItsDelayAndADroppedCallResumesAtTheNextPage) {
    const auto jobs = Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    line_.End(FailureClass::kBusy, 0);
    Round();
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kRetryWait);
    Advance(179s);
    EXPECT_EQ(Round(), 0);
    Advance(2s);
    EXPECT_EQ(Round(), 1);
    line_.End(FailureClass::kCallDropped, 2);
    Round();
    EXPECT_EQ(Job(jobs[0].id).pages_confirmed, 2);
    Advance(61s);
    EXPECT_EQ(Round(), 1);
    ASSERT_EQ(line_.calls.size(), 1u);
    EXPECT_EQ(line_.calls[0].fax.first_page, 3);
    line_.End(FailureClass::kNone, 1);
    Round();
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kSent);
    EXPECT_EQ(Job(jobs[0].id).pages_confirmed, 3);
    EXPECT_EQ(store_->Attempts(jobs[0].id)->size(), 3u);
}

TEST_F(DispatcherTest, OneCallAtATimeToOneNumber) {
    const auto first = Submit({"+15550100"});
    const auto second = Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    EXPECT_EQ(Round(), 1);
    EXPECT_EQ(Round(), 0);
    line_.End(FailureClass::kNone, 3);
    EXPECT_EQ(Round(), 1);  // the second starts once the first is done
    EXPECT_EQ(line_.calls[0].fax.job, second[0].id);
    EXPECT_EQ(Job(first[0].id).state, JobState::kSent);
}

TEST_F(DispatcherTest, BroadcastRendersOnceAndSpreadsOverLines) {
    const auto jobs = Submit({"+15550101", "+15550102", "+15550103"});
    ASSERT_EQ(jobs.size(), 3u);
    auto ready = dispatcher_->RenderQueued(10);
    ASSERT_TRUE(ready);
    EXPECT_EQ(*ready, 3);
    const std::string document = Job(jobs[0].id).document;
    EXPECT_FALSE(document.empty());
    for (const auto& job : jobs) EXPECT_EQ(Job(job.id).document, document);
    EXPECT_EQ(Round(), 3);
    std::set<std::string> references;
    for (const auto& call : line_.calls) references.insert(call.fax.reference.ToString());
    EXPECT_EQ(references.size(), 3u);  // each recipient's fax has its own reference number
}

TEST_F(DispatcherTest, T38TroubleFallsBackToAudioForThisAndLaterJobsToTheNumber) {
    Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    EXPECT_FALSE(line_.calls[0].fax.prefer_audio);
    line_.End(FailureClass::kT38Failed, 0);
    Round();
    Advance(31s);
    Round();
    ASSERT_EQ(line_.calls.size(), 1u);
    EXPECT_TRUE(line_.calls[0].fax.prefer_audio);
    line_.End(FailureClass::kNone, 3, /*t38=*/false);
    Round();
    Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    ASSERT_EQ(line_.calls.size(), 1u);
    EXPECT_TRUE(line_.calls[0].fax.prefer_audio);  // remembered for the destination
}

TEST_F(DispatcherTest, BadNumberFailsAtOnce) {
    const auto jobs = Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    line_.End(FailureClass::kBadNumber, 0);
    Round();
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kFailed);
}

TEST_F(DispatcherTest, ARestartTurnsTheOpenCallIntoARetry) {
    const auto jobs = Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    ASSERT_EQ(Job(jobs[0].id).state, JobState::kSending);
    // The node dies: its line and dispatcher are gone; a new one starts on the same store.
    line_.calls.clear();
    line_.in_call = 0;
    dispatcher_ = MakeDispatcher("node-a");
    ASSERT_TRUE(dispatcher_->Recover());
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kRetryWait);
    auto attempts = store_->Attempts(jobs[0].id);
    ASSERT_EQ(attempts->size(), 1u);
    EXPECT_EQ((*attempts)[0].failure, FailureClass::kInterrupted);
    EXPECT_EQ(Round(), 1);
    line_.End(FailureClass::kNone, 3);
    Round();
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kSent);
}

TEST_F(DispatcherTest, PagesConfirmedBeforeACrashAreNotSentAgain) {
    const auto jobs = Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    line_.calls[0].on_page(1);
    line_.calls[0].on_page(2);
    Round();  // saves the progress
    // The node dies mid-page 3 and starts again.
    line_.calls.clear();
    line_.in_call = 0;
    dispatcher_ = MakeDispatcher("node-a");
    ASSERT_TRUE(dispatcher_->Recover());
    const auto job = Job(jobs[0].id);
    EXPECT_EQ(job.pages_confirmed, 2);
    EXPECT_EQ(store_->Attempts(jobs[0].id)->at(0).pages_confirmed, 2);
    EXPECT_EQ(Round(), 1);
    ASSERT_EQ(line_.calls.size(), 1u);
    EXPECT_EQ(line_.calls[0].fax.first_page, 3);
    line_.End(FailureClass::kNone, 1);
    Round();
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kSent);
    EXPECT_EQ(Job(jobs[0].id).pages_confirmed, 3);
}

TEST_F(DispatcherTest, ADeadNodesCallsGoToAnotherAfterTheLease) {
    const auto jobs = Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();  // node-a holds the call, then goes silent
    line_.calls.clear();
    line_.in_call = 0;
    auto other = MakeDispatcher("node-b");
    ASSERT_TRUE(other->DispatchRound());
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kSending);  // lease still valid
    Advance(61s);
    // node-b finds the expired lease, records the attempt as interrupted and sends the job itself.
    auto started = other->DispatchRound();
    ASSERT_TRUE(started);
    EXPECT_EQ(*started, 1);
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kSending);
    auto attempts = store_->Attempts(jobs[0].id);
    ASSERT_EQ(attempts->size(), 1u);
    EXPECT_EQ((*attempts)[0].failure, FailureClass::kInterrupted);
    line_.End(FailureClass::kNone, 3);
    ASSERT_TRUE(other->DispatchRound());
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kSent);
}

TEST_F(DispatcherTest, KillTimeFailsAWaitingJob) {
    auto name = spool_->Put(std::string_view("hello\n"), "txt");
    core::NewSubmission submission;
    submission.owner = alice_;
    submission.documents = {*name};
    submission.recipients = {{"+15550100", ""}};
    submission.kill_at = clock_.WallNow() + 100s;
    auto result = store_->Submit(submission, clock_.WallNow());
    ASSERT_TRUE(result);
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    line_.End(FailureClass::kBusy, 0);  // the retry would come after the kill time
    Round();
    EXPECT_EQ(Job(result->jobs[0].id).state, JobState::kFailed);
}

TEST_F(DispatcherTest, StoppedSendingContinuesByItself) {
    Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    ASSERT_TRUE(dispatcher_->StopSending(clock_.WallNow() + 5min));
    EXPECT_EQ(Round(), 0);
    // Stopping is for every node on the store.
    auto other = MakeDispatcher("node-b");
    EXPECT_TRUE(*other->SendingStopped());
    Advance(5min);
    EXPECT_EQ(Round(), 1);
}

TEST_F(DispatcherTest, StoppedUntilContinuedByHand) {
    Submit({"+15550100"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    ASSERT_TRUE(dispatcher_->StopSending(std::nullopt));
    Advance(24h);
    EXPECT_EQ(Round(), 0);
    ASSERT_TRUE(dispatcher_->ContinueSending());
    EXPECT_EQ(Round(), 1);
}

TEST_F(DispatcherTest, AnUnrenderableDocumentFailsTheJobWithItsReason) {
    auto name = spool_->Put(std::string_view("\x7f"
                                             "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
                                             16),
                            "bin");
    core::NewSubmission submission;
    submission.owner = alice_;
    submission.documents = {*name};
    submission.recipients = {{"+15550100", ""}};
    auto result = store_->Submit(submission, clock_.WallNow());
    ASSERT_TRUE(result);
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    const auto job = Job(result->jobs[0].id);
    EXPECT_EQ(job.state, JobState::kFailed);
}

}  // namespace
}  // namespace faxd

namespace faxd {
namespace {

class QueueControlTest : public DispatcherTest {
protected:
    void SetUp() override {
        DispatcherTest::SetUp();
        control_ = std::make_unique<core::QueueControl>(*store_, *dispatcher_, clock_);
    }
    std::unique_ptr<core::QueueControl> control_;
};

TEST_F(QueueControlTest, ListShowsCallsFirstThenThePlaceInLine) {
    const auto first = Submit({"+15550101"});
    const auto urgent = Submit({"+15550102"}, 10);
    const auto later = Submit({"+15550103"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    ASSERT_TRUE(control_->Hold(later[0].id));
    // One free line: the urgent job goes first, the other waits.
    line_.in_call = 9;
    EXPECT_EQ(Round(), 1);
    auto list = control_->List();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 3u);
    EXPECT_EQ((*list)[0].job.id, urgent[0].id);
    EXPECT_EQ((*list)[0].position, 0);
    EXPECT_EQ((*list)[1].job.id, first[0].id);
    EXPECT_EQ((*list)[1].position, 1);
    EXPECT_EQ((*list)[2].job.state, JobState::kHeld);
    EXPECT_EQ((*list)[2].position, 2);
}

TEST_F(QueueControlTest, HoldAndReleaseAndRefusals) {
    const auto jobs = Submit({"+15550101"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    ASSERT_TRUE(control_->Hold(jobs[0].id));
    EXPECT_EQ(Round(), 0);
    auto again = control_->Hold(jobs[0].id);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("it is held"), std::string::npos) << again.error().message;
    ASSERT_TRUE(control_->Release(jobs[0].id));
    EXPECT_EQ(Round(), 1);
    EXPECT_FALSE(control_->Hold(jobs[0].id));  // a call in progress is cancelled, not held
    EXPECT_FALSE(control_->Hold(999999));
}

TEST_F(QueueControlTest, CancelHangsUpTheCallAndTheLateResultChangesNothing) {
    const auto jobs = Submit({"+15550101"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    ASSERT_TRUE(control_->Cancel(jobs[0].id));
    EXPECT_EQ(line_.cancelled, (std::vector<core::JobId>{jobs[0].id}));
    line_.End(FailureClass::kCancelled, 1);
    Round();
    EXPECT_EQ(Job(jobs[0].id).state, JobState::kCancelled);
    EXPECT_FALSE(control_->Cancel(jobs[0].id));
}

TEST_F(QueueControlTest, ACancelFromAnotherNodeHangsUpAtTheNextRound) {
    const auto jobs = Submit({"+15550101"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    ASSERT_TRUE(store_->MoveJob(jobs[0].id, JobState::kSending, JobState::kCancelled, "cancelled elsewhere"));
    EXPECT_TRUE(line_.cancelled.empty());
    Round();
    EXPECT_EQ(line_.cancelled, (std::vector<core::JobId>{jobs[0].id}));
    Round();
    EXPECT_EQ(line_.cancelled.size(), 1u);  // asked once
}

TEST_F(QueueControlTest, SendNowSkipsTheRetryWait) {
    const auto jobs = Submit({"+15550101"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    Round();
    line_.End(FailureClass::kBusy, 0);
    Round();
    EXPECT_EQ(Round(), 0);  // 3 minutes to wait
    ASSERT_TRUE(control_->SendNow(jobs[0].id));
    EXPECT_EQ(Round(), 1);
}

TEST_F(QueueControlTest, DeleteAndDeleteAll) {
    const auto one = Submit({"+15550101"});
    const auto two = Submit({"+15550102", "+15550103"});
    ASSERT_TRUE(dispatcher_->RenderQueued(10));
    const std::string document = Job(one[0].id).document;
    auto removed = control_->Delete(one[0].id);
    ASSERT_TRUE(removed) << removed.error().ToString();
    EXPECT_EQ(*removed, document);  // nobody else uses it: the caller removes the file
    EXPECT_FALSE(store_->GetJob(one[0].id));
    auto all = control_->DeleteAll();
    ASSERT_TRUE(all) << all.error().ToString();
    EXPECT_EQ(all->size(), 1u);  // the broadcast's one shared document
    EXPECT_TRUE(control_->List()->empty());
}

}  // namespace
}  // namespace faxd

namespace faxd {
namespace {

// A node that dies mid-reception: another node files the reception once the lease ran out, keeping the
// pages on disk (the counter stands in for the spool salvage faxd does).
TEST_F(DispatcherTest, AnotherNodeClosesADeadNodesReceptionAfterTheLease) {
    core::User bob;
    bob.login = "bob";
    bob.numbers = {"200"};
    ASSERT_TRUE(store_->AddUser(bob));
    auto directory = [this] { return store_->Load(); };
    core::InboundDesk dead(*store_, directory, {}, "node-a", clock_, [](const std::string&) { return 0; });
    auto admitted = dead.Admit({"200", "+15550100", "call-1", ""});
    ASSERT_TRUE(admitted) << admitted.error().ToString();

    core::InboundDesk alive(*store_, directory, {}, "node-b", clock_, [](const std::string&) { return 2; });
    EXPECT_EQ(*alive.RecoverStale(false), 0);  // the lease still runs
    Advance(61s);
    EXPECT_EQ(*alive.RecoverStale(false), 1);
    auto fax = store_->GetInbound(admitted->id);
    ASSERT_TRUE(fax);
    EXPECT_EQ(fax->state, core::InboundState::kPartial);
    EXPECT_EQ(fax->pages, 2);
    EXPECT_EQ(*alive.RecoverStale(false), 0);  // once only
}

}  // namespace
}  // namespace faxd
