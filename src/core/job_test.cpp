#include "core/job.hpp"

#include <gtest/gtest.h>

namespace faxd::core {
namespace {

TEST(ReferenceNumber, FormatsAndParses) {
    const ReferenceNumber reference{2026, 42};
    EXPECT_EQ(reference.ToString(), "2026.00000042");
    EXPECT_EQ(ReferenceNumber::Parse("2026.00000042"), reference);
    for (const char* bad :
         {"", "2026.42", "2026-00000042", "20260.0000042", "2026.0000004x", "2026.00000000"}) {
        EXPECT_FALSE(ReferenceNumber::Parse(bad)) << bad;
    }
}

TEST(JobState, NamesRoundTrip) {
    for (JobState state : {JobState::kQueued, JobState::kConverting, JobState::kScheduled, JobState::kSending,
                           JobState::kRetryWait, JobState::kHeld, JobState::kSent, JobState::kPartiallySent,
                           JobState::kFailed, JobState::kCancelled}) {
        EXPECT_EQ(ParseJobState(JobStateName(state)), state);
    }
    EXPECT_EQ(JobStateName(JobState::kRetryWait), "retry_wait");
    EXPECT_FALSE(ParseJobState("sendin"));
}

TEST(JobState, LegalMoves) {
    EXPECT_TRUE(CanMove(JobState::kQueued, JobState::kConverting));
    EXPECT_TRUE(CanMove(JobState::kScheduled, JobState::kSending));
    EXPECT_TRUE(CanMove(JobState::kSending, JobState::kRetryWait));
    EXPECT_TRUE(CanMove(JobState::kRetryWait, JobState::kHeld));
    EXPECT_TRUE(CanMove(JobState::kHeld, JobState::kScheduled));
    EXPECT_TRUE(CanMove(JobState::kSending, JobState::kCancelled));
    // Final states stay final; a call in progress is not held; nothing skips the attempt.
    EXPECT_FALSE(CanMove(JobState::kSent, JobState::kCancelled));
    EXPECT_FALSE(CanMove(JobState::kFailed, JobState::kScheduled));
    EXPECT_FALSE(CanMove(JobState::kSending, JobState::kHeld));
    EXPECT_FALSE(CanMove(JobState::kScheduled, JobState::kSent));
    EXPECT_FALSE(CanMove(JobState::kQueued, JobState::kQueued));
}

TEST(FailureClass, NamesRoundTrip) {
    EXPECT_EQ(FailureClassName(FailureClass::kT38Failed), "t38_failed");
    EXPECT_EQ(ParseFailureClass("call_dropped"), FailureClass::kCallDropped);
    EXPECT_FALSE(ParseFailureClass("nope"));
}

}  // namespace
}  // namespace faxd::core
