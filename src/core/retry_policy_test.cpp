// Retry decisions on simulated time: every failure class, the limits, resume page, fallbacks, kill time.
#include "core/retry_policy.hpp"

#include <gtest/gtest.h>

namespace faxd::core {
namespace {

using namespace std::chrono_literals;

const base::WallTime kNow{std::chrono::seconds{1'790'000'000}};

Job SendingJob() {
    Job job;
    job.id = 1;
    job.state = JobState::kSending;
    job.pages_total = 5;
    job.created = kNow - 10min;
    job.dials = 1;
    return job;
}

Attempt Failed(FailureClass failure, int pages = 0) {
    Attempt attempt;
    attempt.failure = failure;
    attempt.pages_confirmed = pages;
    attempt.reason = std::string(FailureClassName(failure));
    attempt.used_t38 = true;
    attempt.ecm = true;
    return attempt;
}

TEST(RetryPolicy, SuccessIsSent) {
    Job job = SendingJob();
    job.pages_confirmed = 5;
    const auto decision = DecideAfterAttempt(job, Attempt{}, 0, RetryPolicy{}, kNow);
    EXPECT_EQ(decision.next, JobState::kSent);
}

TEST(RetryPolicy, EachClassWaitsItsOwnDelay) {
    const RetryPolicy policy;
    struct Case {
        FailureClass failure;
        std::chrono::seconds delay;
    };
    for (const Case& c : {Case{FailureClass::kBusy, 180s}, Case{FailureClass::kNoAnswer, 300s},
                          Case{FailureClass::kProtocolError, 60s}, Case{FailureClass::kT38Failed, 30s},
                          Case{FailureClass::kUnavailable, 300s}, Case{FailureClass::kInterrupted, 10s}}) {
        const auto decision = DecideAfterAttempt(SendingJob(), Failed(c.failure), 1, policy, kNow);
        EXPECT_EQ(decision.next, JobState::kRetryWait) << FailureClassName(c.failure);
        EXPECT_EQ(decision.next_attempt_at, kNow + c.delay) << FailureClassName(c.failure);
    }
}

TEST(RetryPolicy, BadNumberAndDocumentErrorsAreNeverRetried) {
    for (FailureClass failure : {FailureClass::kBadNumber, FailureClass::kDocumentError}) {
        const auto decision = DecideAfterAttempt(SendingJob(), Failed(failure), 1, RetryPolicy{}, kNow);
        EXPECT_EQ(decision.next, JobState::kFailed);
        EXPECT_NE(decision.reason.find("not retried"), std::string::npos);
    }
}

TEST(RetryPolicy, ClassLimitEndsRetries) {
    const RetryPolicy policy;  // busy: 8 retries
    EXPECT_EQ(DecideAfterAttempt(SendingJob(), Failed(FailureClass::kBusy), 8, policy, kNow).next,
              JobState::kRetryWait);
    EXPECT_EQ(DecideAfterAttempt(SendingJob(), Failed(FailureClass::kBusy), 9, policy, kNow).next,
              JobState::kFailed);
}

TEST(RetryPolicy, NumberNeverReachedAsFaxGetsFewerDials) {
    Job job = SendingJob();
    job.dials = 3;
    job.tries = 0;
    const auto decision = DecideAfterAttempt(job, Failed(FailureClass::kNoAnswer), 2, RetryPolicy{}, kNow);
    EXPECT_EQ(decision.next, JobState::kFailed);
    EXPECT_NE(decision.reason.find("no fax machine answered"), std::string::npos);
    job.tries = 1;  // it did answer as a fax once: the normal limits apply
    EXPECT_EQ(DecideAfterAttempt(job, Failed(FailureClass::kNoAnswer), 2, RetryPolicy{}, kNow).next,
              JobState::kRetryWait);
}

TEST(RetryPolicy, MaxTriesAndMaxDials) {
    Job job = SendingJob();
    job.tries = 3;
    EXPECT_EQ(DecideAfterAttempt(job, Failed(FailureClass::kProtocolError), 1, RetryPolicy{}, kNow).next,
              JobState::kFailed);
    job.tries = 1;
    job.dials = 12;
    EXPECT_EQ(DecideAfterAttempt(job, Failed(FailureClass::kBusy), 1, RetryPolicy{}, kNow).next,
              JobState::kFailed);
}

TEST(RetryPolicy, ResumesAfterConfirmedPagesAndEndsPartiallySent) {
    Job job = SendingJob();
    job.pages_confirmed = 2;
    job.tries = 1;
    auto decision = DecideAfterAttempt(job, Failed(FailureClass::kCallDropped, 2), 1, RetryPolicy{}, kNow);
    EXPECT_EQ(decision.next, JobState::kRetryWait);
    EXPECT_NE(decision.reason.find("from page 3"), std::string::npos) << decision.reason;
    job.tries = 3;
    decision = DecideAfterAttempt(job, Failed(FailureClass::kCallDropped, 0), 4, RetryPolicy{}, kNow);
    EXPECT_EQ(decision.next, JobState::kPartiallySent);
}

TEST(RetryPolicy, T38TroubleFallsBackToAudioAndEcmTroubleToEcmOff) {
    auto decision =
        DecideAfterAttempt(SendingJob(), Failed(FailureClass::kT38Failed), 1, RetryPolicy{}, kNow);
    EXPECT_TRUE(decision.hints.prefer_audio);
    EXPECT_FALSE(decision.hints.disable_ecm);
    decision = DecideAfterAttempt(SendingJob(), Failed(FailureClass::kProtocolError), 1, RetryPolicy{}, kNow);
    EXPECT_TRUE(decision.hints.disable_ecm);
    EXPECT_FALSE(decision.hints.prefer_audio);
}

TEST(RetryPolicy, KillTimeStopsRetries) {
    Job job = SendingJob();
    job.kill_at = kNow + 1min;  // a busy retry would come after 3 minutes
    EXPECT_EQ(DecideAfterAttempt(job, Failed(FailureClass::kBusy), 1, RetryPolicy{}, kNow).next,
              JobState::kFailed);
    job.kill_at.reset();
    job.created = kNow - 2h - 58min;  // default kill time: 3 h after submission
    EXPECT_EQ(DecideAfterAttempt(job, Failed(FailureClass::kBusy), 1, RetryPolicy{}, kNow).next,
              JobState::kFailed);
}

TEST(RetryPolicy, CancelledAttemptCancelsTheJob) {
    EXPECT_EQ(DecideAfterAttempt(SendingJob(), Failed(FailureClass::kCancelled), 1, RetryPolicy{}, kNow).next,
              JobState::kCancelled);
}

}  // namespace
}  // namespace faxd::core
