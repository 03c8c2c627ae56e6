#include "app/eventing_job_store.hpp"

namespace faxd::app {

void EventingJobStore::Changed(core::JobId id) {
    if (auto job = store_.GetJob(id)) {
        events_.JobChanged(*job);
        if (observer_.job_finished && core::IsFinal(job->state)) observer_.job_finished(*job);
    }
}

base::Result<core::SubmissionResult> EventingJobStore::Submit(const core::NewSubmission& submission,
                                                              base::WallTime now) {
    auto result = store_.Submit(submission, now);
    if (result && !result->replayed) {
        for (const core::Job& job : result->jobs) events_.JobChanged(job);
    }
    return result;
}

base::Result<bool> EventingJobStore::MoveJob(core::JobId id, core::JobState from, core::JobState to,
                                             const std::string& reason) {
    auto moved = store_.MoveJob(id, from, to, reason);
    if (moved && *moved) Changed(id);
    return moved;
}

base::Result<bool> EventingJobStore::MarkRendered(core::JobId id, const std::string& document, int pages) {
    auto marked = store_.MarkRendered(id, document, pages);
    if (marked && *marked) Changed(id);
    return marked;
}

base::Result<bool> EventingJobStore::SendNow(core::JobId id, base::WallTime now) {
    auto done = store_.SendNow(id, now);
    if (done && *done) Changed(id);
    return done;
}

base::Result<bool> EventingJobStore::ClaimForSending(core::JobId id, const core::NodeId& node,
                                                     base::WallTime lease_until) {
    auto claimed = store_.ClaimForSending(id, node, lease_until);
    if (claimed && *claimed) Changed(id);
    return claimed;
}

base::Result<bool> EventingJobStore::RecordProgress(core::JobId id, const core::NodeId& node,
                                                    int pages_in_attempt) {
    auto recorded = store_.RecordProgress(id, node, pages_in_attempt);
    if (recorded && *recorded) {
        if (auto job = store_.GetJob(id)) {
            // pages_confirmed counts earlier attempts; this attempt resumed after them.
            events_.JobPage(*job, {job->pages_confirmed + pages_in_attempt, job->pages_total,
                                   bit_rate_ ? bit_rate_(id) : 0});
        }
    }
    return recorded;
}

base::Result<bool> EventingJobStore::FinishAttempt(core::JobId id, const core::NodeId& node,
                                                   const core::Attempt& attempt,
                                                   const core::RetryDecision& decision) {
    auto finished = store_.FinishAttempt(id, node, attempt, decision);
    if (finished && *finished) Changed(id);
    return finished;
}

base::Result<std::vector<core::JobId>> EventingJobStore::RecoverInterrupted(const core::NodeId& node,
                                                                            base::WallTime now,
                                                                            bool include_own) {
    auto recovered = store_.RecoverInterrupted(node, now, include_own);
    if (recovered) {
        for (core::JobId id : *recovered) Changed(id);
    }
    return recovered;
}

base::Result<core::InboundFax> EventingJobStore::BeginInbound(const core::InboundFax& fax,
                                                              base::WallTime now) {
    auto begun = store_.BeginInbound(fax, now);
    if (begun) events_.InboundChanged(*begun);
    return begun;
}

base::Result<void> EventingJobStore::FinishInbound(const core::InboundFax& fax) {
    auto finished = store_.FinishInbound(fax);
    if (finished) {
        events_.InboundChanged(fax);
        if (observer_.inbound_finished) observer_.inbound_finished(fax);
    }
    return finished;
}

}  // namespace faxd::app
