#include "core/dispatcher.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace faxd::core {
namespace {

int UtcMinuteOfDay(base::WallTime now) {
    const auto since_epoch = std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
    return static_cast<int>(((since_epoch % 1440) + 1440) % 1440);
}

}  // namespace

Dispatcher::Dispatcher(JobStore& store, FaxLine& line, DocumentRenderer& renderer, const base::Clock& clock,
                       DispatcherConfig config)
    : store_(store), line_(line), renderer_(renderer), clock_(clock), config_(std::move(config)) {
    if (!config_.local_minute_of_day) config_.local_minute_of_day = UtcMinuteOfDay;
}

base::Result<void> Dispatcher::Recover() {
    auto recovered = store_.RecoverInterrupted(config_.node, clock_.WallNow(), /*include_own=*/true);
    if (!recovered) return tl::unexpected(recovered.error());
    return {};
}

// The stop switch lives in the store ("queue.stopped_until": "" running, "forever", or nanoseconds since the
// epoch), so stopping the queue stops every node and survives restarts.
constexpr const char* kStoppedUntil = "queue.stopped_until";

base::Result<void> Dispatcher::StopSending(std::optional<base::WallTime> until) {
    return store_.PutSetting(
        kStoppedUntil, until ? std::to_string(until->time_since_epoch().count()) : std::string("forever"));
}

base::Result<void> Dispatcher::ContinueSending() { return store_.PutSetting(kStoppedUntil, ""); }

base::Result<bool> Dispatcher::SendingStopped() const {
    if (disabled_) return true;
    auto value = store_.GetSetting(kStoppedUntil);
    if (!value) return tl::unexpected(value.error());
    if (!*value || (*value)->empty()) return false;
    if (**value == "forever") return true;
    try {
        return clock_.WallNow().time_since_epoch().count() < std::stoll(**value);
    } catch (const std::exception&) {
        return false;  // unreadable: do not block the queue
    }
}

int Dispatcher::CallsInProgress() const {
    std::lock_guard lock(mutex_);
    return in_progress_;
}

base::Result<int> Dispatcher::RenderQueued(int limit) {
    auto queued = store_.QueuedJobs(limit);
    if (!queued) return tl::unexpected(queued.error());
    int ready = 0;
    std::set<SubmissionId> done;
    for (const Job& job : *queued) {
        if (done.contains(job.submission)) continue;
        done.insert(job.submission);
        auto rendered = RenderSubmission(job);
        if (!rendered) return tl::unexpected(rendered.error());
        ready += *rendered;
    }
    return ready;
}

// A broadcast is rendered once; every job of the submission that is still queued gets the same document.
base::Result<int> Dispatcher::RenderSubmission(const Job& first) {
    auto jobs = store_.SubmissionJobs(first.submission);
    if (!jobs) return tl::unexpected(jobs.error());
    std::vector<JobId> mine;
    for (const Job& job : *jobs) {
        if (job.state != JobState::kQueued) continue;
        auto moved = store_.MoveJob(job.id, JobState::kQueued, JobState::kConverting, "rendering");
        if (!moved) return tl::unexpected(moved.error());
        if (*moved) mine.push_back(job.id);
    }
    if (mine.empty()) return 0;
    auto submission = store_.GetSubmission(first.submission);
    base::Result<RenderedFax> rendered = submission
                                             ? renderer_.Render(*submission, first)
                                             : base::Result<RenderedFax>(tl::unexpected(submission.error()));
    int ready = 0;
    for (JobId id : mine) {
        if (rendered) {
            auto marked = store_.MarkRendered(id, rendered->document, rendered->pages);
            if (!marked) return tl::unexpected(marked.error());
            ready += *marked ? 1 : 0;
        } else {
            // The document cannot become fax pages: retrying would fail the same way.
            auto moved =
                store_.MoveJob(id, JobState::kConverting, JobState::kFailed, rendered.error().message);
            if (!moved) return tl::unexpected(moved.error());
        }
    }
    return ready;
}

base::Result<void> Dispatcher::HangUpCancelled() {
    std::vector<JobId> calls;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, asked] : in_flight_) {
            if (!asked) calls.push_back(id);
        }
    }
    for (JobId id : calls) {
        auto job = store_.GetJob(id);
        if (!job) return tl::unexpected(job.error());
        if (job->state == JobState::kSending) continue;
        HangUp(id);
    }
    return {};
}

void Dispatcher::HangUp(JobId id) {
    {
        std::lock_guard lock(mutex_);
        auto it = in_flight_.find(id);
        if (it == in_flight_.end() || it->second) return;
        it->second = true;
    }
    line_.Cancel(id);
}

base::Result<void> Dispatcher::SaveProgress() {
    std::map<JobId, int> progress;
    {
        std::lock_guard lock(mutex_);
        progress.swap(progress_);
    }
    for (const auto& [id, pages] : progress) {
        if (auto saved = store_.RecordProgress(id, config_.node, pages); !saved)
            return tl::unexpected(saved.error());
    }
    return {};
}

base::Result<void> Dispatcher::RecordFinishedAttempts() {
    std::vector<Finished> finished;
    {
        std::lock_guard lock(mutex_);
        finished.swap(finished_);
    }
    const base::WallTime now = clock_.WallNow();
    for (Finished& done : finished) {
        auto job = store_.GetJob(done.job);
        if (!job) return tl::unexpected(job.error());
        // The decision sees the job as it will be after this attempt.
        Job after = *job;
        after.pages_confirmed += done.attempt.pages_confirmed;
        if (ReachedFax(done.attempt)) ++after.tries;
        auto failures = done.attempt.failure == FailureClass::kNone
                            ? base::Result<int>(0)
                            : store_.CountFailures(done.job, done.attempt.failure);
        if (!failures) return tl::unexpected(failures.error());
        const int of_class = *failures + (done.attempt.failure == FailureClass::kNone ? 0 : 1);
        RetryDecision decision = DecideAfterAttempt(after, done.attempt, of_class, config_.retry, now);
        auto applied = store_.FinishAttempt(done.job, config_.node, done.attempt, decision);
        if (!applied) return tl::unexpected(applied.error());
        if (decision.hints.prefer_audio != job->prefer_audio ||
            decision.hints.disable_ecm != job->disable_ecm || done.attempt.failure == FailureClass::kNone) {
            // Remember per destination what the next job should start with (success keeps what worked).
            DestinationHints hints = decision.hints;
            if (done.attempt.failure == FailureClass::kNone) {
                hints.prefer_audio = !done.attempt.used_t38;
                hints.disable_ecm = !done.attempt.ecm;
            }
            if (auto remembered = store_.RememberHints(job->number, hints); !remembered) {
                return tl::unexpected(remembered.error());
            }
        }
    }
    return {};
}

base::Result<bool> Dispatcher::Start(const Job& job) {
    const base::WallTime now = clock_.WallNow();
    auto claimed = store_.ClaimForSending(job.id, config_.node, now + config_.lease);
    if (!claimed) return tl::unexpected(claimed.error());
    if (!*claimed) return false;  // another node took it, or the number became busy
    auto hints = store_.HintsFor(job.number);
    OutgoingFax fax;
    fax.job = job.id;
    fax.reference = job.reference;
    fax.number = job.number;
    fax.document = job.document;
    fax.first_page = job.pages_confirmed + 1;
    fax.pages_total = job.pages_total;
    fax.prefer_audio = job.prefer_audio || (hints && hints->prefer_audio);
    fax.disable_ecm = job.disable_ecm || (hints && hints->disable_ecm);
    {
        std::lock_guard lock(mutex_);
        ++in_progress_;
        in_flight_[job.id] = false;
    }
    line_.Send(
        fax,
        [this, id = job.id](int pages) {
            {
                std::lock_guard lock(mutex_);
                progress_[id] = pages;
            }
            if (config_.wake) config_.wake();
        },
        [this, id = job.id](Attempt attempt) {
            {
                std::lock_guard lock(mutex_);
                --in_progress_;
                progress_.erase(id);
                in_flight_.erase(id);
                finished_.push_back({id, std::move(attempt)});
            }
            if (config_.wake) config_.wake();
        });
    return true;
}

base::Result<int> Dispatcher::DispatchRound() {
    if (auto saved = SaveProgress(); !saved) return tl::unexpected(saved.error());
    if (auto recorded = RecordFinishedAttempts(); !recorded) return tl::unexpected(recorded.error());
    if (auto hung_up = HangUpCancelled(); !hung_up) return tl::unexpected(hung_up.error());
    const base::WallTime now = clock_.WallNow();
    if (now - last_renewal_ >= config_.lease / 3) {
        if (auto renewed = store_.RenewLeases(config_.node, now + config_.lease); !renewed) {
            return tl::unexpected(renewed.error());
        }
        last_renewal_ = now;
        if (auto recovered = store_.RecoverInterrupted(config_.node, now, /*include_own=*/false);
            !recovered) {
            return tl::unexpected(recovered.error());
        }
    }
    auto due = store_.DueJobs(now, config_.due_batch);
    if (!due) return tl::unexpected(due.error());
    auto numbers = store_.NumbersInCall();
    if (!numbers) return tl::unexpected(numbers.error());

    DispatchInput input;
    input.due = std::move(*due);
    input.lines = line_.Usage();
    {
        std::lock_guard lock(mutex_);
        // Calls this node started but the line has not counted yet still hold a channel.
        input.lines.outgoing = std::max(input.lines.outgoing, in_progress_);
    }
    input.lines.numbers_in_call.insert(numbers->begin(), numbers->end());
    input.now = now;
    input.local_minute_of_day = config_.local_minute_of_day(now);
    auto stopped = SendingStopped();
    if (!stopped) return tl::unexpected(stopped.error());
    input.sending_stopped = *stopped;
    const DispatchPlan plan = PlanDispatch(input, config_.lines);

    for (JobId id : plan.expired) {
        const auto job =
            std::find_if(input.due.begin(), input.due.end(), [&](const Job& j) { return j.id == id; });
        const JobState to = job->pages_confirmed > 0 && job->state == JobState::kRetryWait
                                ? JobState::kPartiallySent
                                : JobState::kFailed;
        auto moved = store_.MoveJob(id, job->state, to, "kill time reached before it could be sent");
        if (!moved) return tl::unexpected(moved.error());
    }
    int started = 0;
    for (JobId id : plan.start) {
        const auto job =
            std::find_if(input.due.begin(), input.due.end(), [&](const Job& j) { return j.id == id; });
        auto ok = Start(*job);
        if (!ok) return tl::unexpected(ok.error());
        if (*ok) ++started;
    }
    return started;
}

}  // namespace faxd::core
