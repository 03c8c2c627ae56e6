#include "store/rows.hpp"

#include <charconv>
#include <chrono>

#include "store/store.hpp"

namespace faxd::store {

std::string_view InboundStateName(core::InboundState state) {
    switch (state) {
        case core::InboundState::kReceiving:
            return "receiving";
        case core::InboundState::kReceived:
            return "received";
        case core::InboundState::kPartial:
            return "partial";
        case core::InboundState::kFailed:
            return "failed";
    }
    return "failed";
}

std::optional<core::InboundState> ParseInboundState(std::string_view name) {
    for (auto state : {core::InboundState::kReceiving, core::InboundState::kReceived,
                       core::InboundState::kPartial, core::InboundState::kFailed}) {
        if (InboundStateName(state) == name) return state;
    }
    return std::nullopt;
}

namespace detail {

const char* const kJobColumns =
    "id, submission_id, reference, owner_id, entity_id, number, recipient_name, state, priority, send_at_ns, "
    "kill_at_ns, next_attempt_at_ns, created_ns, pages_total, pages_confirmed, tries, dials, document, "
    "economy, prefer_audio, disable_ecm, last_failure, last_reason";

const char* const kInboundColumns =
    "i.id, i.reference, i.dnis, i.ani, i.remote_ident, i.call_id, i.node, i.state, i.started_ns, "
    "i.duration_seconds, i.pages, i.document, i.dest_kind, i.dest_owner, i.matched_by, i.failure_reason";

const char* const kAttemptColumns =
    "number, started_ns, duration_seconds, route, used_t38, ecm, failure, sip_status, t30_code, reason, "
    "pages_confirmed, bit_rate, remote_ident";

const std::optional<std::string>& Cells::Next() {
    static const std::optional<std::string> kNull;
    return next_ < row_.size() ? row_[next_++] : kNull;
}

std::optional<std::int64_t> Cells::OptInt() {
    const auto& cell = Next();
    if (!cell) return std::nullopt;
    std::int64_t value = 0;
    std::from_chars(cell->data(), cell->data() + cell->size(), value);
    return value;
}

double Cells::Real() {
    const auto& cell = Next();
    if (!cell) return 0;
    double value = 0;
    std::from_chars(cell->data(), cell->data() + cell->size(), value);
    return value;
}

std::string Cells::Text() { return Next().value_or(std::string()); }

std::optional<std::string> Cells::OptText() { return Next(); }

std::optional<base::WallTime> Cells::OptTime() {
    auto ns = OptInt();
    return ns ? std::optional<base::WallTime>(FromNs(*ns)) : std::nullopt;
}

core::Job JobFromRow(const Row& row) {
    Cells c(row);
    core::Job job;
    job.id = c.Int();
    job.submission = c.Int();
    job.reference = core::ReferenceNumber::Parse(c.Text()).value_or(core::ReferenceNumber{});
    job.owner = c.Int();
    job.entity = c.OptInt();
    job.number = c.Text();
    job.recipient_name = c.Text();
    job.state = core::ParseJobState(c.Text()).value_or(core::JobState::kFailed);
    job.priority = c.Int32();
    job.send_at = c.OptTime();
    job.kill_at = c.OptTime();
    job.next_attempt_at = c.Time();
    job.created = c.Time();
    job.pages_total = c.Int32();
    job.pages_confirmed = c.Int32();
    job.tries = c.Int32();
    job.dials = c.Int32();
    job.document = c.Text();
    job.economy = c.Bool();
    job.prefer_audio = c.Bool();
    job.disable_ecm = c.Bool();
    job.last_failure = core::ParseFailureClass(c.Text()).value_or(core::FailureClass::kInternal);
    job.last_reason = c.Text();
    return job;
}

core::InboundFax InboundFromRow(const Row& row) {
    Cells c(row);
    core::InboundFax fax;
    fax.id = c.Int();
    fax.reference = core::ReferenceNumber::Parse(c.Text()).value_or(core::ReferenceNumber{});
    fax.dnis = c.Text();
    fax.ani = c.Text();
    fax.remote_ident = c.Text();
    fax.call_id = c.Text();
    fax.node = c.Text();
    fax.state = ParseInboundState(c.Text()).value_or(core::InboundState::kFailed);
    fax.started = c.Time();
    fax.duration_seconds = c.Real();
    fax.pages = c.Int32();
    fax.document = c.Text();
    const auto kind = c.OptText();
    const auto owner = c.OptInt();
    std::string matched_by = c.Text();
    if (kind) {
        core::InboundDestination destination;
        destination.kind = ParseOwnerKind(*kind).value_or(core::OwnerKind::kUser);
        destination.owner = owner.value_or(0);
        destination.matched_by = std::move(matched_by);
        fax.destination = std::move(destination);
    }
    fax.failure_reason = c.Text();
    return fax;
}

core::Attempt AttemptFromRow(const Row& row) {
    Cells c(row);
    core::Attempt attempt;
    attempt.number = c.Int32();
    attempt.started = c.Time();
    attempt.duration_seconds = c.Real();
    attempt.route = c.Text();
    attempt.used_t38 = c.Bool();
    attempt.ecm = c.Bool();
    attempt.failure = core::ParseFailureClass(c.Text()).value_or(core::FailureClass::kInternal);
    attempt.sip_status = c.Int32();
    attempt.t30_code = c.Int32();
    attempt.reason = c.Text();
    attempt.pages_confirmed = c.Int32();
    attempt.bit_rate = c.Int32();
    attempt.remote_ident = c.Text();
    return attempt;
}

std::string_view OwnerKindName(core::OwnerKind kind) {
    switch (kind) {
        case core::OwnerKind::kUser:
            return "user";
        case core::OwnerKind::kEntity:
            return "entity";
        case core::OwnerKind::kGroup:
            return "group";
    }
    return "user";
}

std::optional<core::OwnerKind> ParseOwnerKind(std::string_view name) {
    if (name == "user") return core::OwnerKind::kUser;
    if (name == "entity") return core::OwnerKind::kEntity;
    if (name == "group") return core::OwnerKind::kGroup;
    return std::nullopt;
}

int YearOf(base::WallTime now) {
    const auto days = std::chrono::floor<std::chrono::days>(now);
    return static_cast<int>(std::chrono::year_month_day(std::chrono::sys_days(days)).year());
}

Statement ReferenceStatement(int year, int count) {
    // One statement: the first use of a year creates its row, every later one increments it under the row
    // lock, which serialises concurrent submitters on every node until their transactions end.
    return {
        "INSERT INTO reference_counters (year, value) VALUES ($1, $2) "
        "ON CONFLICT (year) DO UPDATE SET value = reference_counters.value + excluded.value RETURNING value",
        {year, count}};
}

base::Result<std::int64_t> FirstReference(const ExecResult& result, int year, int count) {
    constexpr std::int64_t kMaxSequence = 99'999'999;  // eight digits: "YYYY.NNNNNNNN"
    if (result.rows.size() != 1) {
        return base::MakeError(base::ErrorCode::kInternal, "reference counter row missing");
    }
    const std::int64_t last = Cells(result.rows[0]).Int();
    if (last > kMaxSequence) {
        return base::MakeError(base::ErrorCode::kLimitExceeded,
                               "reference numbers of " + std::to_string(year) + " are used up");
    }
    return last - count + 1;
}

base::Result<std::int64_t> AllocateReferences(Connection& connection, int year, int count) {
    const Statement statement = ReferenceStatement(year, count);
    auto updated = connection.Exec(statement.sql, statement.params);
    if (!updated) return tl::unexpected(updated.error());
    return FirstReference(*updated, year, count);
}

std::string Placeholders(int first, int count) {
    std::string out;
    for (int i = 0; i < count; ++i) {
        if (i > 0) out += ", ";
        out += "$" + std::to_string(first + i);
    }
    return out;
}

}  // namespace detail
}  // namespace faxd::store
