// Which waiting jobs get a line now. Pure: the dispatcher hands in the due jobs (from the store), the calls
// in progress and the time; no I/O, so every rule is tested on simulated time.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/job.hpp"

namespace faxd::core {

// Local time of day as minutes since midnight; the economy window may wrap midnight (22:00-06:00).
struct TimeWindow {
    int start_minute = 0;
    int end_minute = 0;
    bool Contains(int minute_of_day) const;
};

struct SchedulerConfig {
    int channels = 30;                  // simultaneous calls the trunk carries
    int max_outgoing = 20;              // at most this many outgoing calls at once
    int reserved_for_incoming = 2;      // outgoing never takes the last channels
    std::optional<TimeWindow> economy;  // jobs marked economy wait for it
    // While other submissions wait, one broadcast uses at most this share of the free outgoing lines, so a
    // 5,000-recipient mailing does not hold up a single urgent fax.
    double broadcast_share = 0.75;
};

struct LineUse {
    int outgoing = 0;
    int incoming = 0;
    std::set<std::string> numbers_in_call;  // one call at a time to the same number
};

struct DispatchInput {
    std::vector<Job> due;  // kScheduled or kRetryWait jobs whose next_attempt_at and send_at have passed
    LineUse lines;
    base::WallTime now{};
    int local_minute_of_day = 0;
    bool sending_stopped = false;
};

struct DispatchPlan {
    std::vector<JobId> start;    // in this order
    std::vector<JobId> expired;  // past their kill time: fail them
};

int FreeOutgoingLines(const SchedulerConfig& config, const LineUse& lines);
DispatchPlan PlanDispatch(const DispatchInput& input, const SchedulerConfig& config);

}  // namespace faxd::core
