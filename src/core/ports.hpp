// The ports the core needs from the outside world. src/store implements the persistence ports for SQLite and
// PostgreSQL; the dispatcher in src/app drives them. Every method is one transaction: it either happened
// completely or not at all, so a kill -9 between two calls loses nothing and doubles nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "core/directory.hpp"
#include "core/job.hpp"
#include "core/retry_policy.hpp"

namespace faxd::core {

using NodeId = std::string;  // a faxd instance; unique among the nodes sharing one database

struct Recipient {
    std::string number;
    std::string name;
};

// One submission: a document to one or more recipients (a broadcast when several).
struct NewSubmission {
    UserId owner = 0;
    std::optional<EntityId> entity;
    std::vector<Recipient> recipients;
    std::vector<std::string> documents;  // spool names of the originals, in order
    std::string cover_page;              // template name; empty: none
    std::string subject;
    std::string comments;
    int priority = 100;
    std::optional<base::WallTime> send_at;
    std::optional<base::WallTime> kill_at;
    bool economy = false;
    std::string resolution;  // "standard", "fine", "superfine"; "": the server's default
    std::string
        idempotency_key;  // empty: none; the same key from the same owner returns the first submission
};

struct SubmissionResult {
    SubmissionId submission = 0;
    std::vector<Job> jobs;  // one per recipient, in recipient order, state kQueued
    bool replayed = false;  // the idempotency key had been used: these are the existing jobs
};

// Received faxes: a row exists from the moment a call starts delivering pages, so a crash mid-reception
// leaves a record with the pages that were already safely on disk.
enum class InboundState { kReceiving, kReceived, kPartial, kFailed };

struct InboundFax {
    std::int64_t id = 0;
    ReferenceNumber reference;
    std::string dnis;
    std::string ani;
    std::string remote_ident;
    std::string call_id;
    NodeId node;
    InboundState state = InboundState::kReceiving;
    base::WallTime started{};
    double duration_seconds = 0;
    int pages = 0;
    std::string document;  // spool name of the received TIFF
    std::optional<InboundDestination> destination;
    std::string failure_reason;
};

class JobStore {
public:
    virtual ~JobStore() = default;

    // Allocates a reference number per job and stores submission and jobs atomically.
    virtual base::Result<SubmissionResult> Submit(const NewSubmission& submission, base::WallTime now) = 0;
    virtual base::Result<Job> GetJob(JobId id) = 0;
    // What was submitted (documents, cover page and its texts), for rendering; recipients are the jobs.
    virtual base::Result<NewSubmission> GetSubmission(SubmissionId id) = 0;
    // Every job of a submission (a broadcast renders once for all of them).
    virtual base::Result<std::vector<Job>> SubmissionJobs(SubmissionId id) = 0;
    virtual base::Result<std::vector<Attempt>> Attempts(JobId id) = 0;

    // Moves a job if it is still in `from` (compare-and-set). False when someone else moved it first.
    virtual base::Result<bool> MoveJob(JobId id, JobState from, JobState to, const std::string& reason) = 0;
    // After rendering: the document, its page count, and kScheduled (kConverting -> kScheduled).
    virtual base::Result<bool> MarkRendered(JobId id, const std::string& document, int pages) = 0;

    // Jobs that may be dialled now (kScheduled/kRetryWait, due), oldest first, at most `limit`.
    virtual base::Result<std::vector<Job>> DueJobs(base::WallTime now, int limit) = 0;
    // Every job not yet final, in the order the queue serves them: calls in progress first, then by priority,
    // next attempt time and id (held jobs included, where they would stand). At most `limit`.
    virtual base::Result<std::vector<Job>> QueueJobs(int limit) = 0;
    // "Send now": a waiting job (kScheduled/kRetryWait) is due at `now`, its send-at time dropped.
    virtual base::Result<bool> SendNow(JobId id, base::WallTime now) = 0;
    // Removes a final job and its attempts. Returns its rendered document's spool name when no other job of
    // the submission uses it (the caller removes the file), else "".
    virtual base::Result<std::string> DeleteJob(JobId id) = 0;
    // Jobs waiting to be rendered (kQueued), oldest first.
    virtual base::Result<std::vector<Job>> QueuedJobs(int limit) = 0;
    // Numbers with a call in progress on any node.
    virtual base::Result<std::vector<std::string>> NumbersInCall() = 0;

    // Claims a job for an attempt on `node` until `lease_until`: kScheduled/kRetryWait -> kSending, dials+1.
    // False when the job moved, or another job to the same number is being sent (enforced by the database,
    // so two nodes can never call one number at once nor send one job twice).
    virtual base::Result<bool> ClaimForSending(JobId id, const NodeId& node, base::WallTime lease_until) = 0;
    // Keeps the node's claims alive (all its kSending jobs and kReceiving faxes).
    virtual base::Result<void> RenewLeases(const NodeId& node, base::WallTime lease_until) = 0;
    // Saves how many pages the receiver confirmed so far in the attempt in progress (as each is confirmed), so
    // an attempt a crash cuts short still counts them. False when `node` no longer holds the claim.
    virtual base::Result<bool> RecordProgress(JobId id, const NodeId& node, int pages_in_attempt) = 0;
    // Records the attempt and applies the decision, only while `node` still holds the claim.
    virtual base::Result<bool> FinishAttempt(JobId id, const NodeId& node, const Attempt& attempt,
                                             const RetryDecision& decision) = 0;
    // Claims whose lease ran out (a dead node), or all of `node`'s own after it restarted: each becomes an
    // interrupted attempt and the job waits for a retry. Returns the jobs recovered.
    virtual base::Result<std::vector<JobId>> RecoverInterrupted(const NodeId& node, base::WallTime now,
                                                                bool include_own) = 0;
    // How many attempts of `id` ended with `failure` (for the retry rules).
    virtual base::Result<int> CountFailures(JobId id, FailureClass failure) = 0;

    virtual base::Result<DestinationHints> HintsFor(const std::string& number) = 0;
    virtual base::Result<void> RememberHints(const std::string& number, const DestinationHints& hints) = 0;

    // Inbound.
    virtual base::Result<InboundFax> BeginInbound(const InboundFax& fax, base::WallTime now) = 0;
    virtual base::Result<void> FinishInbound(const InboundFax& fax) = 0;
    // kReceiving rows of a dead node (or this node after a restart): their pages on disk are kept.
    virtual base::Result<std::vector<InboundFax>> StaleInbound(const NodeId& node, base::WallTime now,
                                                               bool include_own) = 0;

    // Small durable settings shared by all nodes (the queue's stop switch).
    virtual base::Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;
    virtual base::Result<void> PutSetting(const std::string& key, const std::string& value) = 0;

    // Deletes finished jobs and received faxes older than `before`; returns their spool documents so the
    // caller removes the files after the rows are gone.
    virtual base::Result<std::vector<std::string>> PurgeOlderThan(base::WallTime before) = 0;
};

class DirectoryStore {
public:
    virtual ~DirectoryStore() = default;
    virtual base::Result<Directory> Load() = 0;
    virtual base::Result<UserId> AddUser(const User& user) = 0;
    virtual base::Result<void> UpdateUser(const User& user) = 0;
    virtual base::Result<EntityId> AddEntity(const FaxEntity& entity) = 0;
    virtual base::Result<GroupId> AddGroup(const Group& group) = 0;
};

}  // namespace faxd::core
