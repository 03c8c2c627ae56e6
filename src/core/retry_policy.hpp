// What happens after an attempt: done, try again later (when, and how differently), or give up. Delays and
// limits per failure class follow HylaFAX's long-proven defaults (busy 3 min, no answer 5 min, protocol 1
// min), and a number that was never reached as a fax gets fewer tries than one that answered with a fax.
#pragma once

#include <chrono>
#include <map>

#include "core/job.hpp"

namespace faxd::core {

struct RetryRule {
    std::chrono::seconds delay{300};
    int max_attempts = 0;  // attempts that failed with this class before giving up; 0 = no retry
};

struct RetryPolicy {
    std::map<FailureClass, RetryRule> rules{
        {FailureClass::kBusy, {std::chrono::seconds{180}, 8}},
        {FailureClass::kNoAnswer, {std::chrono::seconds{300}, 4}},
        {FailureClass::kUnavailable, {std::chrono::seconds{300}, 6}},
        {FailureClass::kNotAFax, {std::chrono::seconds{300}, 2}},
        {FailureClass::kRejected, {std::chrono::seconds{600}, 1}},
        {FailureClass::kT38Failed, {std::chrono::seconds{30}, 2}},
        {FailureClass::kProtocolError, {std::chrono::seconds{60}, 3}},
        {FailureClass::kCallDropped, {std::chrono::seconds{60}, 3}},
        {FailureClass::kInterrupted, {std::chrono::seconds{10}, 5}},
        {FailureClass::kInternal, {std::chrono::seconds{120}, 2}},
        // kBadNumber, kDocumentError, kCancelled: never retried.
    };
    int max_tries = 3;   // attempts that reached a fax machine (HylaFAX MaxTries)
    int max_dials = 12;  // attempts of any kind (HylaFAX MaxDials)
    // A number never reached as a fax gives up after this many dials, whatever the class rules allow.
    int max_dials_never_reached = 3;
    std::chrono::seconds default_kill_after{std::chrono::hours{3}};  // when a job has no kill time of its own
};

struct RetryDecision {
    JobState next = JobState::kFailed;
    base::WallTime next_attempt_at{};  // for kRetryWait
    DestinationHints hints;            // what the next attempt (and later jobs to this number) should do
    std::string reason;                // why it gives up or retries, for the log and the user
};

// The attempt already counted in the job: `job.dials`, `job.tries`, `job.pages_confirmed` include it, and
// `failures_of_class` is how many attempts of this job ended with `attempt.failure` (this one included).
RetryDecision DecideAfterAttempt(const Job& job, const Attempt& attempt, int failures_of_class,
                                 const RetryPolicy& policy, base::WallTime now);

// Whether an attempt spoke to a fax machine (counts against max_tries, not only max_dials).
bool ReachedFax(const Attempt& attempt);

}  // namespace faxd::core
