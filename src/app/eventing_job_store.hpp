// The job store as the server uses it: every change that succeeds is also told to the event hub (live
// progress over SSE, webhooks). The dispatcher, the inbound desk and the API all write through it, so no
// state change escapes the events.
#pragma once

#include "core/ports.hpp"
#include "web/events.hpp"

namespace faxd::app {

class EventingJobStore final : public core::JobStore {
public:
    // `bit_rate` tells the last page's bit rate of a job's call in progress (0 when unknown).
    EventingJobStore(core::JobStore& store, web::EventHub& events, std::function<int(core::JobId)> bit_rate)
        : store_(store), events_(events), bit_rate_(std::move(bit_rate)) {}

    base::Result<core::SubmissionResult> Submit(const core::NewSubmission& submission,
                                                base::WallTime now) override;
    base::Result<core::Job> GetJob(core::JobId id) override { return store_.GetJob(id); }
    base::Result<core::NewSubmission> GetSubmission(core::SubmissionId id) override {
        return store_.GetSubmission(id);
    }
    base::Result<std::vector<core::Job>> SubmissionJobs(core::SubmissionId id) override {
        return store_.SubmissionJobs(id);
    }
    base::Result<std::vector<core::Attempt>> Attempts(core::JobId id) override { return store_.Attempts(id); }
    base::Result<bool> MoveJob(core::JobId id, core::JobState from, core::JobState to,
                               const std::string& reason) override;
    base::Result<bool> MarkRendered(core::JobId id, const std::string& document, int pages) override;
    base::Result<std::vector<core::Job>> DueJobs(base::WallTime now, int limit) override {
        return store_.DueJobs(now, limit);
    }
    base::Result<std::vector<core::Job>> QueueJobs(int limit) override { return store_.QueueJobs(limit); }
    base::Result<bool> SendNow(core::JobId id, base::WallTime now) override;
    base::Result<std::string> DeleteJob(core::JobId id) override { return store_.DeleteJob(id); }
    base::Result<std::vector<core::Job>> QueuedJobs(int limit) override { return store_.QueuedJobs(limit); }
    base::Result<std::vector<std::string>> NumbersInCall() override { return store_.NumbersInCall(); }
    base::Result<bool> ClaimForSending(core::JobId id, const core::NodeId& node,
                                       base::WallTime lease_until) override;
    base::Result<void> RenewLeases(const core::NodeId& node, base::WallTime lease_until) override {
        return store_.RenewLeases(node, lease_until);
    }
    base::Result<bool> RecordProgress(core::JobId id, const core::NodeId& node,
                                      int pages_in_attempt) override;
    base::Result<bool> FinishAttempt(core::JobId id, const core::NodeId& node, const core::Attempt& attempt,
                                     const core::RetryDecision& decision) override;
    base::Result<std::vector<core::JobId>> RecoverInterrupted(const core::NodeId& node, base::WallTime now,
                                                              bool include_own) override;
    base::Result<int> CountFailures(core::JobId id, core::FailureClass failure) override {
        return store_.CountFailures(id, failure);
    }
    base::Result<core::DestinationHints> HintsFor(const std::string& number) override {
        return store_.HintsFor(number);
    }
    base::Result<void> RememberHints(const std::string& number,
                                     const core::DestinationHints& hints) override {
        return store_.RememberHints(number, hints);
    }
    base::Result<core::InboundFax> BeginInbound(const core::InboundFax& fax, base::WallTime now) override;
    base::Result<void> FinishInbound(const core::InboundFax& fax) override;
    base::Result<std::vector<core::InboundFax>> StaleInbound(const core::NodeId& node, base::WallTime now,
                                                             bool include_own) override {
        return store_.StaleInbound(node, now, include_own);
    }
    base::Result<std::optional<std::string>> GetSetting(const std::string& key) override {
        return store_.GetSetting(key);
    }
    base::Result<void> PutSetting(const std::string& key, const std::string& value) override {
        return store_.PutSetting(key, value);
    }
    base::Result<std::vector<std::string>> PurgeOlderThan(base::WallTime before) override {
        return store_.PurgeOlderThan(before);
    }

    // Told when a job reaches a final state and when a reception is closed (the e-mail gateway's receipts
    // and fax-to-mail). Set before the threads that write jobs start; called on the writer's thread.
    struct Observer {
        std::function<void(const core::Job&)> job_finished;
        std::function<void(const core::InboundFax&)> inbound_finished;
    };
    void SetObserver(Observer observer) { observer_ = std::move(observer); }

private:
    void Changed(core::JobId id);

    core::JobStore& store_;
    web::EventHub& events_;
    std::function<int(core::JobId)> bit_rate_;
    Observer observer_;
};

}  // namespace faxd::app
