// The outgoing job pipeline of one node: render queued submissions, start due jobs on free lines, record
// what every attempt did and decide what comes next. It only talks to ports (store, line, renderer, clock),
// so tests run it on simulated time; src/app gives it real adapters and a thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "core/ports.hpp"
#include "core/retry_policy.hpp"
#include "core/scheduler.hpp"

namespace faxd::core {

// What the line needs to place one attempt.
struct OutgoingFax {
    JobId job = 0;
    ReferenceNumber reference;
    std::string number;
    std::string document;  // spool name of the rendered fax TIFF
    int first_page = 1;    // 1-based: a retry resumes after the pages already confirmed
    int pages_total = 0;
    bool prefer_audio = false;
    bool disable_ecm = false;
};

// The telephony side (src/sip through src/app).
class FaxLine {
public:
    virtual ~FaxLine() = default;
    // Places the call. `on_page` runs (on any thread) each time the receiver confirms a page, with the pages
    // confirmed in this attempt so far; `done` runs exactly once when the attempt is over, its
    // `pages_confirmed` also counting this attempt only.
    virtual void Send(const OutgoingFax& fax, std::function<void(int pages_in_attempt)> on_page,
                      std::function<void(Attempt)> done) = 0;
    // Hangs up the attempt of `job` if this node is placing it (a cancelled job); its `done` still runs.
    virtual void Cancel(JobId job) = 0;
    // Calls in progress on this node (incoming ones included): the channel budget depends on them.
    virtual LineUse Usage() const = 0;
};

struct RenderedFax {
    std::string document;  // spool name
    int pages = 0;
};

// Documents to fax pages (src/render through src/app). May take seconds.
class DocumentRenderer {
public:
    virtual ~DocumentRenderer() = default;
    virtual base::Result<RenderedFax> Render(const NewSubmission& submission, const Job& job) = 0;
};

struct DispatcherConfig {
    NodeId node = "node-1";
    SchedulerConfig lines;
    RetryPolicy retry;
    std::chrono::seconds lease{60};  // a node silent this long loses its calls to the others
    int due_batch = 200;             // due jobs read per round
    // Local time of day for the economy window; the default is UTC.
    std::function<int(base::WallTime)> local_minute_of_day;
    // Asks for a round soon (a page was confirmed and should be saved); may be empty.
    std::function<void()> wake;
};

class Dispatcher {
public:
    Dispatcher(JobStore& store, FaxLine& line, DocumentRenderer& renderer, const base::Clock& clock,
               DispatcherConfig config);

    // After a restart: this node's interrupted calls and conversions become retries (nothing is lost, and a
    // job that was mid-call is neither dropped nor sent twice at once).
    base::Result<void> Recover();
    // Renders up to `limit` queued submissions; returns how many jobs became ready.
    base::Result<int> RenderQueued(int limit);
    // One dispatch round: finished attempts are recorded, stale claims of dead nodes recovered, expired jobs
    // failed, due jobs started on free lines. Returns how many calls it started.
    base::Result<int> DispatchRound();

    // Hangs up this node's call for `id`, if there is one (the job was cancelled).
    void HangUp(JobId id);
    // Queue control for all nodes sharing the store. Stopped sending continues by itself at `until` when
    // given.
    base::Result<void> StopSending(std::optional<base::WallTime> until);
    base::Result<void> ContinueSending();
    base::Result<bool> SendingStopped() const;
    // This node only, not stored: the config's global outgoing switch.
    void DisableSending() { disabled_ = true; }
    // The global outgoing switch as the stored runtime settings say (the API changes it on any node).
    void SetSendingEnabled(bool enabled) { disabled_ = !enabled; }
    // Calls this node is placing now.
    int CallsInProgress() const;
    // Saves the pages confirmed in running attempts (DispatchRound does this first).
    base::Result<void> SaveProgress();
    // Records the attempts whose calls ended since the last round (DispatchRound does this first; call it
    // after hanging up at shutdown so those attempts are not found as interrupted at the next start).
    base::Result<void> RecordFinishedAttempts();

private:
    struct Finished {
        JobId job = 0;
        Attempt attempt;
    };
    base::Result<bool> Start(const Job& job);  // false: the claim went elsewhere
    // Hangs up calls whose job was cancelled meanwhile (on this node or another one, through the store).
    base::Result<void> HangUpCancelled();
    base::Result<int> RenderSubmission(const Job& job);  // jobs that became ready

    JobStore& store_;
    FaxLine& line_;
    DocumentRenderer& renderer_;
    const base::Clock& clock_;
    DispatcherConfig config_;

    mutable std::mutex mutex_;  // guards the members below (line callbacks arrive on other threads)
    std::vector<Finished> finished_;
    std::map<JobId, int> progress_;    // pages confirmed in the running attempt, not yet saved
    std::map<JobId, bool> in_flight_;  // calls this node placed -> hang-up already asked
    int in_progress_ = 0;
    std::atomic<bool> disabled_{false};
    base::WallTime last_renewal_{};
};

}  // namespace faxd::core
