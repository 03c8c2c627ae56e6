// What operators and users do to the queue: hold, release, cancel (hanging up a call in progress), send
// now, delete, delete all, stop and continue sending, and the list of active and waiting jobs with their
// place in the line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/dispatcher.hpp"

namespace faxd::core {

struct QueueEntry {
    Job job;
    int position = 0;  // 0: a call is up for it; 1 is the next to go, and so on
};

class QueueControl {
public:
    QueueControl(JobStore& store, Dispatcher& dispatcher, const base::Clock& clock)
        : store_(store), dispatcher_(dispatcher), clock_(clock) {}

    // Errors: kNotFound for an unknown job, kInvalidArgument when the job's state does not allow it
    // (e.g. hold a call in progress, release a job that is not held), with the state in the message.
    base::Result<void> Hold(JobId id);
    base::Result<void> Release(JobId id);
    base::Result<void> Cancel(JobId id);
    base::Result<void> SendNow(JobId id);
    // Cancels the job first when it is not final; returns the spool document no longer needed ("" if none).
    base::Result<std::string> Delete(JobId id);
    // Cancels and deletes every job in the queue; returns the documents no longer needed.
    base::Result<std::vector<std::string>> DeleteAll();

    base::Result<void> StopSending(std::optional<base::WallTime> until) {
        return dispatcher_.StopSending(until);
    }
    base::Result<void> ContinueSending() { return dispatcher_.ContinueSending(); }

    base::Result<std::vector<QueueEntry>> List(int limit = 1000);

private:
    base::Result<Job> Find(JobId id);
    base::Result<void> Move(const Job& job, JobState to, const std::string& reason);

    JobStore& store_;
    Dispatcher& dispatcher_;
    const base::Clock& clock_;
};

}  // namespace faxd::core
