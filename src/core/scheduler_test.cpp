// The dispatch rules on simulated time: priorities, one call per number, line limits and the reserve for
// incoming calls, the economy window, send-at and kill time, stop, and broadcasts sharing the lines.
#include "core/scheduler.hpp"

#include <gtest/gtest.h>

namespace faxd::core {
namespace {

using namespace std::chrono_literals;

const base::WallTime kNow{std::chrono::seconds{1'790'000'000}};

Job Due(JobId id, std::string number, int priority = 100, SubmissionId submission = 0) {
    Job job;
    job.id = id;
    job.submission = submission == 0 ? id : submission;
    job.number = std::move(number);
    job.priority = priority;
    job.state = JobState::kScheduled;
    job.next_attempt_at = kNow - std::chrono::seconds{id};  // lower ids waited longer
    return job;
}

DispatchInput Input(std::vector<Job> due) {
    DispatchInput input;
    input.due = std::move(due);
    input.now = kNow;
    input.local_minute_of_day = 12 * 60;
    return input;
}

SchedulerConfig Lines(int channels, int max_outgoing, int reserved) {
    SchedulerConfig config;
    config.channels = channels;
    config.max_outgoing = max_outgoing;
    config.reserved_for_incoming = reserved;
    return config;
}

TEST(Scheduler, PriorityThenLongestWaiting) {
    const auto plan =
        PlanDispatch(Input({Due(1, "100", 120), Due(2, "200", 50), Due(3, "300", 120)}), Lines(10, 10, 0));
    EXPECT_EQ(plan.start, (std::vector<JobId>{2, 3, 1}));  // job 3 waited longer than job 1
}

TEST(Scheduler, OneCallAtATimePerNumber) {
    auto input = Input({Due(1, "100"), Due(2, "100"), Due(3, "200"), Due(4, "300")});
    input.lines.numbers_in_call = {"300"};
    input.lines.outgoing = 1;
    const auto plan = PlanDispatch(input, Lines(10, 10, 0));
    EXPECT_EQ(plan.start.size(), 2u);
    // Exactly one of the two jobs to 100 starts (the one that waited longer), none to 300.
    EXPECT_EQ(plan.start, (std::vector<JobId>{3, 2}));
}

TEST(Scheduler, OutgoingLimitAndReserveForIncoming) {
    std::vector<Job> due;
    for (JobId id = 1; id <= 20; ++id) due.push_back(Due(id, std::to_string(1000 + id)));
    // 10 channels, 2 kept for incoming: 8 outgoing at most, even though max_outgoing allows 9.
    EXPECT_EQ(PlanDispatch(Input(due), Lines(10, 9, 2)).start.size(), 8u);
    // Incoming calls beyond the reserve take channels too.
    auto input = Input(due);
    input.lines.incoming = 5;
    input.lines.outgoing = 2;
    EXPECT_EQ(PlanDispatch(input, Lines(10, 9, 2)).start.size(), 3u);
    input.lines.incoming = 8;
    EXPECT_TRUE(PlanDispatch(input, Lines(10, 9, 2)).start.empty());
}

TEST(Scheduler, EconomyJobsWaitForTheWindowAcrossMidnight) {
    Job cheap = Due(1, "100");
    cheap.economy = true;
    auto config = Lines(10, 10, 0);
    config.economy = TimeWindow{22 * 60, 6 * 60};
    auto input = Input({cheap, Due(2, "200")});
    EXPECT_EQ(PlanDispatch(input, config).start, (std::vector<JobId>{2}));
    input.local_minute_of_day = 23 * 60;
    EXPECT_EQ(PlanDispatch(input, config).start.size(), 2u);
    input.local_minute_of_day = 5 * 60 + 59;
    EXPECT_EQ(PlanDispatch(input, config).start.size(), 2u);
    input.local_minute_of_day = 6 * 60;
    EXPECT_EQ(PlanDispatch(input, config).start, (std::vector<JobId>{2}));
}

TEST(Scheduler, SendAtAndRetryTimeAreRespected) {
    Job later = Due(1, "100");
    later.send_at = kNow + 1min;
    Job retry = Due(2, "200");
    retry.state = JobState::kRetryWait;
    retry.next_attempt_at = kNow + 10s;
    EXPECT_TRUE(PlanDispatch(Input({later, retry}), Lines(10, 10, 0)).start.empty());
    auto input = Input({later, retry});
    input.now = kNow + 1min;
    EXPECT_EQ(PlanDispatch(input, Lines(10, 10, 0)).start.size(), 2u);
}

TEST(Scheduler, ExpiredJobsAreReportedNotStarted) {
    Job old = Due(1, "100");
    old.kill_at = kNow - 1s;
    const auto plan = PlanDispatch(Input({old, Due(2, "200")}), Lines(10, 10, 0));
    EXPECT_EQ(plan.expired, (std::vector<JobId>{1}));
    EXPECT_EQ(plan.start, (std::vector<JobId>{2}));
}

TEST(Scheduler, StoppedSendingStartsNothingButStillExpires) {
    Job old = Due(1, "100");
    old.kill_at = kNow - 1s;
    auto input = Input({old, Due(2, "200")});
    input.sending_stopped = true;
    const auto plan = PlanDispatch(input, Lines(10, 10, 0));
    EXPECT_TRUE(plan.start.empty());
    EXPECT_EQ(plan.expired.size(), 1u);
}

TEST(Scheduler, HeldJobsNeverStart) {
    Job held = Due(1, "100");
    held.state = JobState::kHeld;
    EXPECT_TRUE(PlanDispatch(Input({held}), Lines(10, 10, 0)).start.empty());
}

TEST(Scheduler, ABroadcastLeavesLinesForOtherSubmissions) {
    std::vector<Job> due;
    for (JobId id = 1; id <= 50; ++id) due.push_back(Due(id, std::to_string(5000 + id), 100, 7));
    Job single = Due(99, "777", 100, 99);
    single.next_attempt_at = kNow;  // arrived last
    due.push_back(single);
    const auto plan = PlanDispatch(Input(due), Lines(8, 8, 0));
    ASSERT_EQ(plan.start.size(), 8u);
    EXPECT_NE(std::find(plan.start.begin(), plan.start.end(), 99), plan.start.end());
    // Alone, a broadcast spreads over every line.
    due.pop_back();
    EXPECT_EQ(PlanDispatch(Input(due), Lines(8, 8, 0)).start.size(), 8u);
}

TEST(Scheduler, NoFreeLinesNoStarts) {
    auto input = Input({Due(1, "100")});
    input.lines.outgoing = 4;
    EXPECT_TRUE(PlanDispatch(input, Lines(4, 4, 0)).start.empty());
    EXPECT_EQ(FreeOutgoingLines(Lines(4, 4, 0), input.lines), 0);
}

}  // namespace
}  // namespace faxd::core
