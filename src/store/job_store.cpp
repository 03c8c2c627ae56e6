// JobStore, outgoing side: submissions, the job state machine, claims and leases.
#include <algorithm>

#include "store/rows.hpp"
#include "store/store.hpp"

namespace faxd::store {

using detail::Cells;
using detail::kJobColumns;
using detail::ToNs;

namespace {

constexpr std::string_view kNoIdempotencyRace = "idempotency key raced";

base::Result<std::vector<core::Job>> JobsWhere(Connection& c, const std::string& where,
                                               const std::vector<Param>& params, const char* from = "jobs") {
    auto rows = c.Exec(std::string("SELECT ") + kJobColumns + " FROM " + from + " WHERE " + where, params);
    if (!rows) return tl::unexpected(rows.error());
    std::vector<core::Job> jobs;
    jobs.reserve(rows->rows.size());
    for (const Row& row : rows->rows) jobs.push_back(detail::JobFromRow(row));
    return jobs;
}

std::string Name(core::JobState state) { return std::string(core::JobStateName(state)); }
std::string Name(core::FailureClass failure) { return std::string(core::FailureClassName(failure)); }

Statement AttemptRow(core::JobId job, int number, const core::Attempt& a, const core::NodeId& node) {
    return {
        "INSERT INTO attempts (job_id, number, started_ns, duration_seconds, route, used_t38, ecm, failure, "
        "sip_status, t30_code, reason, pages_confirmed, bit_rate, remote_ident, node) VALUES ($1, $2, $3, "
        "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        {job, number, ToNs(a.started), a.duration_seconds, a.route, a.used_t38, a.ecm, Name(a.failure),
         a.sip_status, a.t30_code, a.reason, a.pages_confirmed, a.bit_rate, a.remote_ident, node}};
}

base::Result<void> InsertAttempt(Connection& c, core::JobId job, int number, const core::Attempt& a,
                                 const core::NodeId& node) {
    const Statement row = AttemptRow(job, number, a, node);
    auto inserted = c.Exec(row.sql, row.params);
    if (!inserted) return tl::unexpected(inserted.error());
    return {};
}

}  // namespace

base::Result<core::SubmissionResult> Store::Submit(const core::NewSubmission& submission,
                                                   base::WallTime now) {
    if (submission.recipients.empty()) {
        return base::MakeError(base::ErrorCode::kInvalidArgument, "a submission needs a recipient");
    }
    for (const core::Recipient& recipient : submission.recipients) {
        if (recipient.number.empty()) {
            return base::MakeError(base::ErrorCode::kInvalidArgument, "a recipient without a number");
        }
    }
    const std::optional<std::string> key =
        submission.idempotency_key.empty() ? std::nullopt : std::optional(submission.idempotency_key);
    core::SubmissionResult result;
    bool raced = false;
    auto body = [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        result = {};
        raced = false;
        if (key) {
            auto existing = c.Exec("SELECT id FROM submissions WHERE owner_id = $1 AND idempotency_key = $2",
                                   {submission.owner, *key});
            if (!existing) return tl::unexpected(existing.error());
            if (!existing->rows.empty()) {
                result.submission = Cells(existing->rows[0]).Int();
                auto jobs = JobsWhere(c, "submission_id = $1 ORDER BY id", {result.submission});
                if (!jobs) return tl::unexpected(jobs.error());
                result.jobs = std::move(*jobs);
                result.replayed = true;
                return {};
            }
        }
        // Two round trips on PostgreSQL: the submission and the reference numbers (independent), then the
        // documents, the jobs and the COMMIT. The counter row, which every node's submissions share, stays
        // locked for one round trip and the commit's flush only.
        const int count = static_cast<int>(submission.recipients.size());
        const int year = detail::YearOf(now);
        auto first = tx.connection().ExecBatch(
            {Statement{
                 "INSERT INTO submissions (owner_id, entity_id, cover_page, subject, comments, priority, "
                 "send_at_ns, kill_at_ns, economy, idempotency_key, created_ns, resolution) VALUES ($1, $2, "
                 "$3, $4, "
                 "$5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                 {submission.owner, submission.entity, submission.cover_page, submission.subject,
                  submission.comments, submission.priority, ToNs(submission.send_at),
                  ToNs(submission.kill_at), submission.economy, key, ToNs(now), submission.resolution},
                 OnUniqueViolation::kReport},
             detail::ReferenceStatement(year, count)},
            /*commit=*/false);
        if (!first) return tl::unexpected(first.error());
        if (first->front().unique_violation) {
            // Another node committed the same key after our look-up (PostgreSQL): start again and replay.
            raced = true;
            return base::MakeError(base::ErrorCode::kInternal, std::string(kNoIdempotencyRace));
        }
        result.submission = Cells(first->at(0).rows.at(0)).Int();
        auto sequence = detail::FirstReference(first->at(1), year, count);
        if (!sequence) return tl::unexpected(sequence.error());

        std::vector<Statement> rest;
        for (std::size_t i = 0; i < submission.documents.size(); ++i) {
            rest.push_back(
                {"INSERT INTO submission_documents (submission_id, position, name) VALUES ($1, $2, $3)",
                 {result.submission, static_cast<int>(i), submission.documents[i]}});
        }
        const base::WallTime first_try =
            submission.send_at ? std::max(*submission.send_at, now) : now;  // next_attempt_at honours send_at
        for (int i = 0; i < count; ++i) {
            const core::Recipient& recipient = submission.recipients[static_cast<std::size_t>(i)];
            core::Job job;
            job.submission = result.submission;
            job.reference = core::ReferenceNumber{year, *sequence + i};
            job.owner = submission.owner;
            job.entity = submission.entity;
            job.number = recipient.number;
            job.recipient_name = recipient.name;
            job.state = core::JobState::kQueued;
            job.priority = submission.priority;
            job.send_at = submission.send_at;
            job.kill_at = submission.kill_at;
            job.next_attempt_at = first_try;
            job.created = now;
            job.economy = submission.economy;
            rest.push_back(
                {"INSERT INTO jobs (submission_id, reference, owner_id, entity_id, number, recipient_name, "
                 "state, priority, send_at_ns, kill_at_ns, next_attempt_at_ns, created_ns, economy) VALUES "
                 "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                 {job.submission, job.reference.ToString(), job.owner, job.entity, job.number,
                  job.recipient_name, Name(job.state), job.priority, ToNs(job.send_at), ToNs(job.kill_at),
                  ToNs(job.next_attempt_at), ToNs(job.created), job.economy}});
            result.jobs.push_back(std::move(job));
        }
        auto inserted = tx.CommitWith(rest);
        if (!inserted) return tl::unexpected(inserted.error());
        const std::size_t documents = submission.documents.size();
        for (std::size_t i = 0; i < result.jobs.size(); ++i) {
            result.jobs[i].id = Cells(inserted->at(documents + i).rows.at(0)).Int();
        }
        return {};
    };
    auto done = Run(TxMode::kWrite, body);
    if (!done && raced) done = Run(TxMode::kWrite, body);
    if (!done) return tl::unexpected(done.error());
    return result;
}

base::Result<core::Job> Store::GetJob(core::JobId id) {
    std::vector<core::Job> jobs;
    auto done = Run(TxMode::kRead, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto found = JobsWhere(c, "id = $1", {id});
        if (!found) return tl::unexpected(found.error());
        jobs = std::move(*found);
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    if (jobs.empty()) return base::MakeError(base::ErrorCode::kNotFound, "no job " + std::to_string(id));
    return jobs[0];
}

base::Result<core::NewSubmission> Store::GetSubmission(core::SubmissionId id) {
    core::NewSubmission submission;
    bool found = false;
    auto done = Run(TxMode::kRead, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto row = c.Exec(
            "SELECT owner_id, entity_id, cover_page, subject, comments, priority, send_at_ns, kill_at_ns, "
            "economy, idempotency_key, resolution FROM submissions WHERE id = $1",
            {id});
        if (!row) return tl::unexpected(row.error());
        if (row->rows.empty()) return {};
        found = true;
        Cells cells(row->rows[0]);
        submission.owner = cells.Int();
        submission.entity = cells.OptInt();
        submission.cover_page = cells.Text();
        submission.subject = cells.Text();
        submission.comments = cells.Text();
        submission.priority = cells.Int32();
        submission.send_at = cells.OptTime();
        submission.kill_at = cells.OptTime();
        submission.economy = cells.Bool();
        submission.idempotency_key = cells.Text();
        submission.resolution = cells.Text();
        auto documents =
            c.Exec("SELECT name FROM submission_documents WHERE submission_id = $1 ORDER BY position", {id});
        if (!documents) return tl::unexpected(documents.error());
        for (const Row& document : documents->rows) submission.documents.push_back(Cells(document).Text());
        auto recipients =
            c.Exec("SELECT number, recipient_name FROM jobs WHERE submission_id = $1 ORDER BY id", {id});
        if (!recipients) return tl::unexpected(recipients.error());
        for (const Row& recipient : recipients->rows) {
            Cells r(recipient);
            std::string number = r.Text();
            submission.recipients.push_back({std::move(number), r.Text()});
        }
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    if (!found) return base::MakeError(base::ErrorCode::kNotFound, "no submission " + std::to_string(id));
    return submission;
}

base::Result<std::vector<core::Job>> Store::SubmissionJobs(core::SubmissionId id) {
    std::lock_guard lock(mutex_);
    return JobsWhere(*connection_, "submission_id = $1 ORDER BY id", {id});
}

base::Result<std::vector<core::Attempt>> Store::Attempts(core::JobId id) {
    auto rows = Single(
        std::string("SELECT ") + detail::kAttemptColumns + " FROM attempts WHERE job_id = $1 ORDER BY id",
        {id});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<core::Attempt> attempts;
    for (const Row& row : rows->rows) attempts.push_back(detail::AttemptFromRow(row));
    return attempts;
}

base::Result<bool> Store::MoveJob(core::JobId id, core::JobState from, core::JobState to,
                                  const std::string& reason) {
    if (!core::CanMove(from, to)) {
        return base::MakeError(
            base::ErrorCode::kInvalidArgument,
            "job " + std::to_string(id) + " cannot move from " + Name(from) + " to " + Name(to));
    }
    if (to == core::JobState::kSending) {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "a job starts sending through ClaimForSending");
    }
    const base::WallTime now = Now();
    // A conversion is claimed by this node for one lease (renewed by RenewLeases), so a dead converter's
    // jobs go back to the queue; every other move drops the claim.
    const bool converting = to == core::JobState::kConverting;
    auto moved = Single(
        "UPDATE jobs SET state = $2, node = $3, lease_until_ns = $4, finished_ns = $5, last_reason = "
        "COALESCE($6, last_reason) WHERE id = $1 AND state = $7",
        {id, Name(to), converting ? Param(options_.node) : Param(),
         converting ? Param(ToNs(now + options_.lease)) : Param(),
         core::IsFinal(to) ? Param(ToNs(now)) : Param(), reason.empty() ? Param() : Param(reason),
         Name(from)});
    if (!moved) return tl::unexpected(moved.error());
    return moved->changed == 1;
}

base::Result<bool> Store::MarkRendered(core::JobId id, const std::string& document, int pages) {
    auto marked = Single(
        "UPDATE jobs SET document = $2, pages_total = $3, state = 'scheduled', node = NULL, lease_until_ns = "
        "NULL WHERE id = $1 AND state = 'converting'",
        {id, document, pages});
    if (!marked) return tl::unexpected(marked.error());
    return marked->changed == 1;
}

base::Result<std::vector<core::Job>> Store::DueJobs(base::WallTime now, int limit) {
    // The state list is literal text so both planners can match the partial index jobs_due and read it in
    // order. SQLite without statistics prefers jobs_state and sorts the whole queue, so it is told.
    std::lock_guard lock(mutex_);
    return JobsWhere(*connection_,
                     "state IN ('scheduled', 'retry_wait') AND next_attempt_at_ns <= $1 AND (send_at_ns IS "
                     "NULL OR send_at_ns <= $1) ORDER BY next_attempt_at_ns, id LIMIT $2",
                     {ToNs(now), limit}, dialect() == Dialect::kSqlite ? "jobs INDEXED BY jobs_due" : "jobs");
}

base::Result<std::vector<core::Job>> Store::QueuedJobs(int limit) {
    std::lock_guard lock(mutex_);
    return JobsWhere(*connection_, "state = 'queued' ORDER BY created_ns, id LIMIT $1", {limit});
}

base::Result<std::vector<core::Job>> Store::QueueJobs(int limit) {
    std::lock_guard lock(mutex_);
    return JobsWhere(
        *connection_,
        "state NOT IN ('sent', 'partially_sent', 'failed', 'cancelled') ORDER BY CASE state WHEN "
        "'sending' THEN 0 ELSE 1 END, priority, next_attempt_at_ns, id LIMIT $1",
        {limit});
}

base::Result<bool> Store::SendNow(core::JobId id, base::WallTime now) {
    auto updated = Single(
        "UPDATE jobs SET next_attempt_at_ns = $2, send_at_ns = NULL WHERE id = $1 AND state IN ('scheduled', "
        "'retry_wait')",
        {id, ToNs(now)});
    if (!updated) return tl::unexpected(updated.error());
    return updated->changed == 1;
}

base::Result<std::string> Store::DeleteJob(core::JobId id) {
    std::string orphan;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto job = c.Exec(
            "SELECT document, submission_id FROM jobs WHERE id = $1 AND state IN ('sent', "
            "'partially_sent', 'failed', 'cancelled')",
            {id});
        if (!job) return tl::unexpected(job.error());
        if (job->rows.empty()) {
            return base::MakeError(
                base::ErrorCode::kInvalidArgument,
                "job " + std::to_string(id) + " does not exist or is not finished (cancel it first)");
        }
        Cells cells(job->rows[0]);
        const std::string document = cells.Text();
        const std::int64_t submission = cells.Int();
        for (const char* sql : {"DELETE FROM attempts WHERE job_id = $1", "DELETE FROM jobs WHERE id = $1"}) {
            if (auto deleted = c.Exec(sql, {id}); !deleted) return tl::unexpected(deleted.error());
        }
        auto others = c.Exec("SELECT 1 FROM jobs WHERE submission_id = $1 AND document = $2 LIMIT 1",
                             {submission, document});
        if (!others) return tl::unexpected(others.error());
        if (others->rows.empty()) orphan = document;
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return orphan;
}

base::Result<std::vector<std::string>> Store::NumbersInCall() {
    auto rows = Single("SELECT number FROM jobs WHERE state = 'sending'");
    if (!rows) return tl::unexpected(rows.error());
    std::vector<std::string> numbers;
    numbers.reserve(rows->rows.size());
    for (const Row& row : rows->rows) numbers.push_back(Cells(row).Text());
    return numbers;
}

base::Result<bool> Store::ClaimForSending(core::JobId id, const core::NodeId& node,
                                          base::WallTime lease_until) {
    // Compare-and-set on the state; the partial unique index jobs_one_call_per_number refuses a second
    // 'sending' row for the number, which is an answer ("not now"), not an error.
    auto claimed = Single(
        "UPDATE jobs SET state = 'sending', node = $2, lease_until_ns = $3, dials = dials + 1 WHERE id = $1 "
        "AND state IN ('scheduled', 'retry_wait')",
        {id, node, ToNs(lease_until)}, OnUniqueViolation::kReport);
    if (!claimed) return tl::unexpected(claimed.error());
    return !claimed->unique_violation && claimed->changed == 1;
}

base::Result<void> Store::RenewLeases(const core::NodeId& node, base::WallTime lease_until) {
    return Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        auto renewed = tx.CommitWith(
            {{"UPDATE jobs SET lease_until_ns = $2 WHERE node = $1 AND state IN ('sending', 'converting')",
              {node, ToNs(lease_until)}},
             {"UPDATE inbound_faxes SET lease_until_ns = $2 WHERE node = $1 AND state = 'receiving'",
              {node, ToNs(lease_until)}}});
        if (!renewed) return tl::unexpected(renewed.error());
        return {};
    });
}

base::Result<bool> Store::RecordProgress(core::JobId id, const core::NodeId& node, int pages_in_attempt) {
    auto updated =
        Single("UPDATE jobs SET attempt_pages = $3 WHERE id = $1 AND node = $2 AND state = 'sending'",
               {id, node, pages_in_attempt});
    if (!updated) return tl::unexpected(updated.error());
    return updated->changed == 1;
}

base::Result<bool> Store::FinishAttempt(core::JobId id, const core::NodeId& node,
                                        const core::Attempt& attempt, const core::RetryDecision& decision) {
    if (!core::CanMove(core::JobState::kSending, decision.next)) {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "an attempt cannot end in " + Name(decision.next));
    }
    const base::WallTime now = Now();
    bool applied = false;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        const bool retry = decision.next == core::JobState::kRetryWait;
        auto updated = c.Exec(
            "UPDATE jobs SET state = $3, next_attempt_at_ns = COALESCE($4, next_attempt_at_ns), "
            "pages_confirmed = pages_confirmed + $5, tries = tries + $6, prefer_audio = $7, disable_ecm = "
            "$8, last_failure = $9, last_reason = $10, node = NULL, lease_until_ns = NULL, finished_ns = "
            "$11, "
            "attempt_pages = 0 "
            "WHERE id = $1 AND state = 'sending' AND node = $2 RETURNING dials",
            {id, node, Name(decision.next), retry ? Param(ToNs(decision.next_attempt_at)) : Param(),
             attempt.pages_confirmed, core::ReachedFax(attempt) ? 1 : 0, decision.hints.prefer_audio,
             decision.hints.disable_ecm, Name(attempt.failure),
             decision.reason.empty() ? attempt.reason : decision.reason,
             core::IsFinal(decision.next) ? Param(ToNs(now)) : Param()});
        if (!updated) return tl::unexpected(updated.error());
        if (updated->rows.empty()) return {};  // the claim is gone (recovered, cancelled): nothing recorded
        const int number = attempt.number > 0 ? attempt.number : Cells(updated->rows[0]).Int32();
        if (auto inserted = tx.CommitWith({AttemptRow(id, number, attempt, node)}); !inserted) {
            return tl::unexpected(inserted.error());
        }
        applied = true;
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return applied;
}

base::Result<std::vector<core::JobId>> Store::RecoverInterrupted(const core::NodeId& node, base::WallTime now,
                                                                 bool include_own) {
    // SKIP LOCKED: two nodes recovering at once each take different rows, and neither waits for the other.
    const std::string stale = include_own ? "(lease_until_ns IS NULL OR lease_until_ns < $1 OR node = $2)"
                                          : "(lease_until_ns IS NULL OR lease_until_ns < $1)";
    const std::vector<Param> params =
        include_own ? std::vector<Param>{ToNs(now), node} : std::vector<Param>{ToNs(now)};
    const std::string lock = dialect() == Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
    std::vector<core::JobId> recovered;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        recovered.clear();
        auto sending = c.Exec("SELECT id, dials, node, attempt_pages FROM jobs WHERE state = 'sending' AND " +
                                  stale + " ORDER BY id" + lock,
                              params);
        if (!sending) return tl::unexpected(sending.error());
        for (const Row& row : sending->rows) {
            Cells cells(row);
            const core::JobId id = cells.Int();
            const int dials = cells.Int32();
            const std::string holder = cells.Text();
            const int pages = cells.Int32();
            const std::string reason = "interrupted: node " + holder + " stopped during the attempt";
            // Pages confirmed before the node stopped stay confirmed: the retry starts after them.
            auto moved = c.Exec(
                // Every page confirmed: the fax went through, only the ending was not recorded.
                "UPDATE jobs SET state = CASE WHEN pages_total > 0 AND pages_confirmed + attempt_pages >= "
                "pages_total THEN 'sent' ELSE 'retry_wait' END, finished_ns = CASE WHEN pages_total > 0 AND "
                "pages_confirmed + attempt_pages >= pages_total THEN $2 ELSE finished_ns END, "
                "next_attempt_at_ns = $2, node = NULL, "
                "lease_until_ns = NULL, last_failure = 'interrupted', last_reason = $3, "
                "pages_confirmed = pages_confirmed + attempt_pages, attempt_pages = 0 "
                "WHERE id = $1 AND state = 'sending'",
                {id, ToNs(now), reason});
            if (!moved) return tl::unexpected(moved.error());
            if (moved->changed != 1) continue;
            core::Attempt attempt;
            attempt.number = dials;
            attempt.started = now;
            attempt.failure = core::FailureClass::kInterrupted;
            attempt.reason = reason;
            attempt.pages_confirmed = pages;
            if (auto inserted = InsertAttempt(c, id, dials, attempt, holder); !inserted) return inserted;
            recovered.push_back(id);
        }
        auto converting = c.Exec(
            "SELECT id FROM jobs WHERE state = 'converting' AND " + stale + " ORDER BY id" + lock, params);
        if (!converting) return tl::unexpected(converting.error());
        for (const Row& row : converting->rows) {
            const core::JobId id = Cells(row).Int();
            auto moved = c.Exec(
                "UPDATE jobs SET state = 'queued', node = NULL, lease_until_ns = NULL WHERE id = $1 AND "
                "state = 'converting'",
                {id});
            if (!moved) return tl::unexpected(moved.error());
            if (moved->changed == 1) recovered.push_back(id);
        }
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return recovered;
}

base::Result<int> Store::CountFailures(core::JobId id, core::FailureClass failure) {
    auto rows =
        Single("SELECT COUNT(*) FROM attempts WHERE job_id = $1 AND failure = $2", {id, Name(failure)});
    if (!rows) return tl::unexpected(rows.error());
    return Cells(rows->rows.at(0)).Int32();
}

base::Result<core::DestinationHints> Store::HintsFor(const std::string& number) {
    auto rows = Single("SELECT prefer_audio, disable_ecm FROM destination_hints WHERE number = $1", {number});
    if (!rows) return tl::unexpected(rows.error());
    core::DestinationHints hints;
    if (!rows->rows.empty()) {
        Cells cells(rows->rows[0]);
        hints.prefer_audio = cells.Bool();
        hints.disable_ecm = cells.Bool();
    }
    return hints;
}

base::Result<void> Store::RememberHints(const std::string& number, const core::DestinationHints& hints) {
    auto put = Single(
        "INSERT INTO destination_hints (number, prefer_audio, disable_ecm, updated_ns) VALUES ($1, $2, $3, "
        "$4) ON CONFLICT (number) DO UPDATE SET prefer_audio = excluded.prefer_audio, disable_ecm = "
        "excluded.disable_ecm, updated_ns = excluded.updated_ns",
        {number, hints.prefer_audio, hints.disable_ecm, ToNs(Now())});
    if (!put) return tl::unexpected(put.error());
    return {};
}

}  // namespace faxd::store
