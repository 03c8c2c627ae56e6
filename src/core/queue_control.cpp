#include "core/queue_control.hpp"

namespace faxd::core {
namespace {

base::Error NotAllowed(const Job& job, const std::string& what) {
    return base::Error{base::ErrorCode::kInvalidArgument,
                       "cannot " + what + " job " + std::to_string(job.id) + ": it is " +
                           std::string(JobStateName(job.state)),
                       std::nullopt, std::nullopt};
}

}  // namespace

base::Result<Job> QueueControl::Find(JobId id) {
    auto job = store_.GetJob(id);
    if (!job) return tl::unexpected(job.error());
    return job;
}

base::Result<void> QueueControl::Move(const Job& job, JobState to, const std::string& reason) {
    auto moved = store_.MoveJob(job.id, job.state, to, reason);
    if (!moved) return tl::unexpected(moved.error());
    if (!*moved) {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "job " + std::to_string(job.id) + " changed meanwhile; try again");
    }
    return {};
}

base::Result<void> QueueControl::Hold(JobId id) {
    auto job = Find(id);
    if (!job) return tl::unexpected(job.error());
    if (!CanMove(job->state, JobState::kHeld)) return tl::unexpected(NotAllowed(*job, "hold"));
    return Move(*job, JobState::kHeld, "held");
}

base::Result<void> QueueControl::Release(JobId id) {
    auto job = Find(id);
    if (!job) return tl::unexpected(job.error());
    if (job->state != JobState::kHeld) return tl::unexpected(NotAllowed(*job, "release"));
    // A job held before it was rendered goes back to rendering.
    return Move(*job, job->document.empty() ? JobState::kQueued : JobState::kScheduled, "released");
}

base::Result<void> QueueControl::Cancel(JobId id) {
    auto job = Find(id);
    if (!job) return tl::unexpected(job.error());
    if (IsFinal(job->state)) return tl::unexpected(NotAllowed(*job, "cancel"));
    if (auto moved = Move(*job, JobState::kCancelled, "cancelled"); !moved) return moved;
    // A call in progress on this node hangs up now; on another node at its next round.
    if (job->state == JobState::kSending) dispatcher_.HangUp(id);
    return {};
}

base::Result<void> QueueControl::SendNow(JobId id) {
    auto job = Find(id);
    if (!job) return tl::unexpected(job.error());
    auto done = store_.SendNow(id, clock_.WallNow());
    if (!done) return tl::unexpected(done.error());
    if (!*done) return tl::unexpected(NotAllowed(*job, "send now"));
    return {};
}

base::Result<std::string> QueueControl::Delete(JobId id) {
    auto job = Find(id);
    if (!job) return tl::unexpected(job.error());
    if (!IsFinal(job->state)) {
        if (auto cancelled = Cancel(id); !cancelled) return tl::unexpected(cancelled.error());
    }
    return store_.DeleteJob(id);
}

base::Result<std::vector<std::string>> QueueControl::DeleteAll() {
    std::vector<std::string> documents;
    for (;;) {
        auto jobs = store_.QueueJobs(500);
        if (!jobs) return tl::unexpected(jobs.error());
        if (jobs->empty()) return documents;
        for (const Job& job : *jobs) {
            auto deleted = Delete(job.id);
            if (!deleted) return tl::unexpected(deleted.error());
            if (!deleted->empty()) documents.push_back(*deleted);
        }
    }
}

base::Result<std::vector<QueueEntry>> QueueControl::List(int limit) {
    auto jobs = store_.QueueJobs(limit);
    if (!jobs) return tl::unexpected(jobs.error());
    std::vector<QueueEntry> entries;
    int next = 1;
    for (Job& job : *jobs) {
        const int position = job.state == JobState::kSending ? 0 : next++;
        entries.push_back({std::move(job), position});
    }
    return entries;
}

}  // namespace faxd::core
