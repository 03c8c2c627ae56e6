#include "core/retry_policy.hpp"

#include <string>

namespace faxd::core {

bool ReachedFax(const Attempt& attempt) {
    return attempt.pages_confirmed > 0 || attempt.failure == FailureClass::kNone ||
           attempt.failure == FailureClass::kProtocolError || attempt.failure == FailureClass::kCallDropped;
}

RetryDecision DecideAfterAttempt(const Job& job, const Attempt& attempt, int failures_of_class,
                                 const RetryPolicy& policy, base::WallTime now) {
    RetryDecision decision;
    decision.hints.prefer_audio = job.prefer_audio;
    decision.hints.disable_ecm = job.disable_ecm;
    const bool done = job.pages_total > 0 && job.pages_confirmed >= job.pages_total;
    if (attempt.failure == FailureClass::kNone || done) {
        decision.next = JobState::kSent;
        decision.reason = "all " + std::to_string(job.pages_total) + " pages confirmed";
        return decision;
    }
    const auto give_up = [&](std::string why) {
        decision.next = job.pages_confirmed > 0 ? JobState::kPartiallySent : JobState::kFailed;
        decision.reason = std::move(why);
        return decision;
    };
    if (attempt.failure == FailureClass::kCancelled) {
        decision.next = JobState::kCancelled;
        decision.reason = "cancelled";
        return decision;
    }
    const auto rule = policy.rules.find(attempt.failure);
    const std::string name(FailureClassName(attempt.failure));
    if (rule == policy.rules.end() || rule->second.max_attempts == 0) {
        return give_up(name + " is not retried: " + attempt.reason);
    }
    if (failures_of_class > rule->second.max_attempts) {
        return give_up(name + " " + std::to_string(failures_of_class) + " times: " + attempt.reason);
    }
    if (job.tries >= policy.max_tries) {
        return give_up("reached the fax machine " + std::to_string(job.tries) +
                       " times without success: " + attempt.reason);
    }
    if (job.dials >= policy.max_dials) {
        return give_up("dialled " + std::to_string(job.dials) + " times: " + attempt.reason);
    }
    if (job.tries == 0 && job.dials >= policy.max_dials_never_reached &&
        attempt.failure != FailureClass::kInterrupted) {
        return give_up("no fax machine answered in " + std::to_string(job.dials) +
                       " calls: " + attempt.reason);
    }
    const base::WallTime at = now + rule->second.delay;
    const base::WallTime kill = job.kill_at.value_or(job.created + policy.default_kill_after);
    if (at > kill) return give_up("the next try would be after the job's kill time: " + attempt.reason);

    // Change what failed: T.38 trouble falls back to G.711 audio, ECM trouble to ECM off.
    if (attempt.failure == FailureClass::kT38Failed && attempt.used_t38) decision.hints.prefer_audio = true;
    if (attempt.failure == FailureClass::kProtocolError && attempt.ecm) decision.hints.disable_ecm = true;
    decision.next = JobState::kRetryWait;
    decision.next_attempt_at = at;
    decision.reason =
        name + ", retry " + std::to_string(job.dials + 1) + " in " +
        std::to_string(rule->second.delay.count()) + " s" +
        (job.pages_confirmed > 0 ? " from page " + std::to_string(job.pages_confirmed + 1) : std::string());
    return decision;
}

}  // namespace faxd::core
