#include "core/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace faxd::core {

bool TimeWindow::Contains(int minute_of_day) const {
    if (start_minute == end_minute) return true;
    if (start_minute < end_minute) return minute_of_day >= start_minute && minute_of_day < end_minute;
    return minute_of_day >= start_minute || minute_of_day < end_minute;  // wraps midnight
}

int FreeOutgoingLines(const SchedulerConfig& config, const LineUse& lines) {
    const int by_limit = config.max_outgoing - lines.outgoing;
    const int by_reserve = config.channels - config.reserved_for_incoming - lines.outgoing;
    const int by_channels = config.channels - lines.outgoing - lines.incoming;
    return std::max(0, std::min({by_limit, by_reserve, by_channels}));
}

DispatchPlan PlanDispatch(const DispatchInput& input, const SchedulerConfig& config) {
    DispatchPlan plan;
    std::vector<const Job*> ready;
    for (const Job& job : input.due) {
        if (job.kill_at && *job.kill_at <= input.now) {
            plan.expired.push_back(job.id);
            continue;
        }
        if (job.state != JobState::kScheduled && job.state != JobState::kRetryWait) continue;
        if (job.next_attempt_at > input.now || (job.send_at && *job.send_at > input.now)) continue;
        if (job.economy && config.economy && !config.economy->Contains(input.local_minute_of_day)) continue;
        ready.push_back(&job);
    }
    if (input.sending_stopped) return plan;
    int free = FreeOutgoingLines(config, input.lines);
    if (free == 0 || ready.empty()) return plan;
    // Priority first, then whoever has waited longest; the id breaks ties so plans are reproducible.
    std::sort(ready.begin(), ready.end(), [](const Job* a, const Job* b) {
        if (a->priority != b->priority) return a->priority < b->priority;
        if (a->next_attempt_at != b->next_attempt_at) return a->next_attempt_at < b->next_attempt_at;
        return a->id < b->id;
    });
    std::set<SubmissionId> submissions;
    for (const Job* job : ready) submissions.insert(job->submission);
    const int share_cap = submissions.size() > 1
                              ? std::max(1, static_cast<int>(std::floor(free * config.broadcast_share)))
                              : free;

    std::set<std::string> numbers = input.lines.numbers_in_call;
    std::map<SubmissionId, int> taken;
    std::vector<const Job*> deferred;  // over their broadcast's share: only if lines stay free
    for (const Job* job : ready) {
        if (free == 0) break;
        if (numbers.contains(job->number)) continue;
        if (taken[job->submission] >= share_cap) {
            deferred.push_back(job);
            continue;
        }
        numbers.insert(job->number);
        ++taken[job->submission];
        plan.start.push_back(job->id);
        --free;
    }
    for (const Job* job : deferred) {
        if (free == 0) break;
        if (numbers.contains(job->number)) continue;
        numbers.insert(job->number);
        plan.start.push_back(job->id);
        --free;
    }
    return plan;
}

}  // namespace faxd::core
