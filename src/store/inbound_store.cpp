// JobStore, inbound side, plus the listings for the API and the purge of old history.
#include <algorithm>
#include <map>
#include <set>

#include "store/rows.hpp"
#include "store/store.hpp"

namespace faxd::store {

using detail::Cells;
using detail::ToNs;

namespace {

constexpr int kMaxPage = 1000;

// Fills destination.recipients of each fax from inbound_recipients.
base::Result<void> LoadRecipients(Connection& c, std::vector<core::InboundFax>& faxes) {
    std::vector<Param> ids;
    std::map<std::int64_t, core::InboundFax*> by_id;
    for (core::InboundFax& fax : faxes) {
        if (!fax.destination) continue;
        ids.emplace_back(fax.id);
        by_id[fax.id] = &fax;
    }
    if (ids.empty()) return {};
    auto rows =
        c.Exec("SELECT inbound_id, user_id FROM inbound_recipients WHERE inbound_id IN (" +
                   detail::Placeholders(1, static_cast<int>(ids.size())) + ") ORDER BY inbound_id, position",
               ids);
    if (!rows) return tl::unexpected(rows.error());
    for (const Row& row : rows->rows) {
        Cells cells(row);
        const std::int64_t inbound = cells.Int();
        by_id[inbound]->destination->recipients.push_back(cells.Int());
    }
    return {};
}

base::Result<std::vector<core::InboundFax>> InboundWhere(Connection& c, const std::string& from_where,
                                                         const std::vector<Param>& params) {
    auto rows = c.Exec(std::string("SELECT ") + detail::kInboundColumns + " FROM " + from_where, params);
    if (!rows) return tl::unexpected(rows.error());
    std::vector<core::InboundFax> faxes;
    faxes.reserve(rows->rows.size());
    for (const Row& row : rows->rows) faxes.push_back(detail::InboundFromRow(row));
    if (auto loaded = LoadRecipients(c, faxes); !loaded) return tl::unexpected(loaded.error());
    return faxes;
}

std::vector<Statement> RecipientRows(const core::InboundFax& fax) {
    std::vector<Statement> rows;
    if (!fax.destination) return rows;
    std::set<core::UserId> seen;
    int position = 0;
    for (core::UserId user : fax.destination->recipients) {
        if (!seen.insert(user).second) continue;
        rows.push_back(
            {"INSERT INTO inbound_recipients (inbound_id, user_id, position, started_ns) VALUES ($1, $2, $3, "
             "$4)",
             {fax.id, user, position++, ToNs(fax.started)}});
    }
    return rows;
}

Param DestKind(const core::InboundFax& fax) {
    return fax.destination ? Param(detail::OwnerKindName(fax.destination->kind)) : Param();
}
Param DestOwner(const core::InboundFax& fax) {
    return fax.destination ? Param(fax.destination->owner) : Param();
}
std::string MatchedBy(const core::InboundFax& fax) {
    return fax.destination ? fax.destination->matched_by : std::string();
}

int ClampLimit(int limit) { return std::clamp(limit, 1, kMaxPage); }

}  // namespace

base::Result<core::InboundFax> Store::BeginInbound(const core::InboundFax& fax, base::WallTime now) {
    core::InboundFax row = fax;
    row.state = core::InboundState::kReceiving;
    row.started = now;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        const int year = detail::YearOf(now);
        auto sequence = detail::AllocateReferences(c, year, 1);
        if (!sequence) return tl::unexpected(sequence.error());
        row.reference = core::ReferenceNumber{year, *sequence};
        auto inserted = c.Exec(
            "INSERT INTO inbound_faxes (reference, dnis, ani, remote_ident, call_id, node, state, "
            "started_ns, duration_seconds, pages, document, dest_kind, dest_owner, matched_by, "
            "failure_reason, lease_until_ns) VALUES ($1, $2, $3, $4, $5, $6, 'receiving', $7, $8, $9, $10, "
            "$11, $12, $13, $14, $15) RETURNING id",
            {row.reference.ToString(), row.dnis, row.ani, row.remote_ident, row.call_id, row.node,
             ToNs(row.started), row.duration_seconds, row.pages, row.document, DestKind(row), DestOwner(row),
             MatchedBy(row), row.failure_reason, ToNs(now + options_.lease)});
        if (!inserted) return tl::unexpected(inserted.error());
        row.id = Cells(inserted->rows.at(0)).Int();
        auto recipients = tx.CommitWith(RecipientRows(row));
        if (!recipients) return tl::unexpected(recipients.error());
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return row;
}

base::Result<void> Store::FinishInbound(const core::InboundFax& fax) {
    return Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto updated = c.Exec(
            "UPDATE inbound_faxes SET state = $2, remote_ident = $3, duration_seconds = $4, pages = $5, "
            "document = $6, dest_kind = $7, dest_owner = $8, matched_by = $9, failure_reason = $10 "
            "WHERE id = $1 RETURNING started_ns",
            {fax.id, InboundStateName(fax.state), fax.remote_ident, fax.duration_seconds, fax.pages,
             fax.document, DestKind(fax), DestOwner(fax), MatchedBy(fax), fax.failure_reason});
        if (!updated) return tl::unexpected(updated.error());
        if (updated->rows.empty()) {
            return base::MakeError(base::ErrorCode::kNotFound, "no received fax " + std::to_string(fax.id));
        }
        core::InboundFax stored = fax;
        stored.started = Cells(updated->rows[0]).Time();  // the inbox is ordered by the recorded start
        std::vector<Statement> rows{{"DELETE FROM inbound_recipients WHERE inbound_id = $1", {fax.id}}};
        for (Statement& row : RecipientRows(stored)) rows.push_back(std::move(row));
        auto replaced = tx.CommitWith(rows);
        if (!replaced) return tl::unexpected(replaced.error());
        return {};
    });
}

base::Result<std::vector<core::InboundFax>> Store::StaleInbound(const core::NodeId& node, base::WallTime now,
                                                                bool include_own) {
    std::string where =
        "inbound_faxes i WHERE i.state = 'receiving' AND (i.lease_until_ns IS NULL OR i.lease_until_ns < $1";
    std::vector<Param> params{ToNs(now)};
    if (include_own) {
        where += " OR i.node = $2";
        params.emplace_back(node);
    }
    where += ") ORDER BY i.id";
    if (dialect() == Dialect::kPostgres) where += " FOR UPDATE SKIP LOCKED";
    std::vector<core::InboundFax> stale;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto found = InboundWhere(c, where, params);
        if (!found) return tl::unexpected(found.error());
        stale = std::move(*found);
        // Take them over for one lease: another recovering node now sees a live claim and leaves them.
        for (const core::InboundFax& fax : stale) {
            auto taken = c.Exec("UPDATE inbound_faxes SET node = $2, lease_until_ns = $3 WHERE id = $1",
                                {fax.id, node, ToNs(now + options_.lease)});
            if (!taken) return tl::unexpected(taken.error());
        }
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return stale;
}

base::Result<core::InboundFax> Store::GetInbound(std::int64_t id) {
    std::vector<core::InboundFax> found;
    auto done = Run(TxMode::kRead, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto rows = InboundWhere(c, "inbound_faxes i WHERE i.id = $1", {id});
        if (!rows) return tl::unexpected(rows.error());
        found = std::move(*rows);
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    if (found.empty())
        return base::MakeError(base::ErrorCode::kNotFound, "no received fax " + std::to_string(id));
    return found[0];
}

base::Result<std::string> Store::DeleteInbound(std::int64_t id) {
    std::string document;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto row = c.Exec("SELECT document FROM inbound_faxes WHERE id = $1 AND state <> 'receiving'", {id});
        if (!row) return tl::unexpected(row.error());
        if (row->rows.empty()) {
            return base::MakeError(base::ErrorCode::kInvalidArgument,
                                   "received fax " + std::to_string(id) + " does not exist or is still arriving");
        }
        document = Cells(row->rows[0]).Text();
        for (const char* sql :
             {"DELETE FROM inbound_recipients WHERE inbound_id = $1", "DELETE FROM inbound_faxes WHERE id = $1"}) {
            if (auto deleted = c.Exec(sql, {id}); !deleted) return tl::unexpected(deleted.error());
        }
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return document;
}

base::Result<Page<core::Job>> Store::ListJobs(const JobFilter& filter, std::optional<PageCursor> after,
                                              int limit) {
    limit = ClampLimit(limit);
    std::string sql = std::string("SELECT ") + detail::kJobColumns + " FROM jobs WHERE 1 = 1";
    std::vector<Param> params;
    auto add = [&](const std::string& condition, Param value) {
        params.push_back(std::move(value));
        sql += " AND " + condition + " = $" + std::to_string(params.size());
    };
    if (filter.owner) add("owner_id", *filter.owner);
    if (filter.state) add("state", core::JobStateName(*filter.state));
    if (filter.reference) add("reference", filter.reference->ToString());
    if (filter.number) add("number", *filter.number);
    if (after) {
        params.emplace_back(ToNs(after->time));
        params.emplace_back(after->id);
        sql += " AND (created_ns, id) < ($" + std::to_string(params.size() - 1) + ", $" +
               std::to_string(params.size()) + ")";
    }
    params.emplace_back(limit + 1);  // one more tells whether another page exists
    sql += " ORDER BY created_ns DESC, id DESC LIMIT $" + std::to_string(params.size());

    auto rows = Single(sql, params);
    if (!rows) return tl::unexpected(rows.error());
    Page<core::Job> page;
    for (const Row& row : rows->rows) page.items.push_back(detail::JobFromRow(row));
    if (static_cast<int>(page.items.size()) > limit) {
        page.items.pop_back();
        page.next = PageCursor{page.items.back().created, page.items.back().id};
    }
    return page;
}

base::Result<Page<core::InboundFax>> Store::ListInbound(const InboundFilter& filter,
                                                        std::optional<PageCursor> after, int limit) {
    limit = ClampLimit(limit);
    std::vector<Param> params;
    std::string from;
    // An inbox reads inbound_recipients in (user, started, id) order and joins each row; without a user the
    // faxes are read by start time.
    const bool inbox = filter.recipient.has_value();
    const std::string time = inbox ? "r.started_ns" : "i.started_ns";
    const std::string id = inbox ? "r.inbound_id" : "i.id";
    if (inbox) {
        params.emplace_back(*filter.recipient);
        from = "inbound_recipients r JOIN inbound_faxes i ON i.id = r.inbound_id WHERE r.user_id = $1";
    } else {
        from = "inbound_faxes i WHERE 1 = 1";
    }
    auto add = [&](const std::string& condition, Param value) {
        params.push_back(std::move(value));
        from += " AND " + condition + " = $" + std::to_string(params.size());
    };
    if (filter.state) add("i.state", InboundStateName(*filter.state));
    if (filter.reference) add("i.reference", filter.reference->ToString());
    if (filter.number) add("i.dnis", *filter.number);
    if (after) {
        params.emplace_back(ToNs(after->time));
        params.emplace_back(after->id);
        from += " AND (" + time + ", " + id + ") < ($" + std::to_string(params.size() - 1) + ", $" +
                std::to_string(params.size()) + ")";
    }
    params.emplace_back(limit + 1);
    from += " ORDER BY " + time + " DESC, " + id + " DESC LIMIT $" + std::to_string(params.size());

    Page<core::InboundFax> page;
    auto done = Run(TxMode::kRead, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto faxes = InboundWhere(c, from, params);
        if (!faxes) return tl::unexpected(faxes.error());
        page.items = std::move(*faxes);
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    if (static_cast<int>(page.items.size()) > limit) {
        page.items.pop_back();
        page.next = PageCursor{page.items.back().started, page.items.back().id};
    }
    return page;
}

base::Result<std::vector<std::string>> Store::PurgeOlderThan(base::WallTime before) {
    // Jobs count from when they finished, received faxes from when they started (a fax still being received
    // is never purged). A rendered document is shared by the jobs of a broadcast, and the originals by the
    // whole submission: their names are returned only when no remaining job uses them.
    constexpr const char* kPurged =
        "finished_ns < $1 AND state IN ('sent', 'partially_sent', 'failed', 'cancelled')";
    constexpr const char* kRemains = "(k.finished_ns IS NULL OR k.finished_ns >= $1)";
    std::vector<std::string> documents;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        documents.clear();
        const std::vector<Param> params{ToNs(before)};
        const std::vector<std::string> queries{
            std::string("SELECT DISTINCT j.document FROM jobs j WHERE j.") + kPurged +
                " AND j.document <> '' AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.submission_id = "
                "j.submission_id AND k.document = j.document AND " +
                kRemains + ")",
            std::string("SELECT d.name FROM submission_documents d WHERE d.submission_id IN (SELECT "
                        "submission_id FROM jobs WHERE ") +
                kPurged +
                ") AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.submission_id = d.submission_id AND " +
                kRemains + ")",
            "SELECT document FROM inbound_faxes WHERE started_ns < $1 AND state <> 'receiving' "
            "AND document <> ''",
        };
        for (const std::string& query : queries) {
            auto rows = c.Exec(query, params);
            if (!rows) return tl::unexpected(rows.error());
            for (const Row& row : rows->rows) documents.push_back(Cells(row).Text());
        }
        const std::vector<std::string> deletions{
            std::string("DELETE FROM attempts WHERE job_id IN (SELECT id FROM jobs WHERE ") + kPurged + ")",
            std::string("DELETE FROM jobs WHERE ") + kPurged,
            // Every submission has a job, so one without any (created before `before`) was purged just now.
            "DELETE FROM submission_documents WHERE submission_id IN (SELECT s.id FROM submissions s WHERE "
            "s.created_ns < $1 AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.submission_id = s.id))",
            "DELETE FROM submissions WHERE created_ns < $1 AND NOT EXISTS (SELECT 1 FROM jobs k WHERE "
            "k.submission_id = submissions.id)",
            "DELETE FROM inbound_recipients WHERE inbound_id IN (SELECT id FROM inbound_faxes WHERE "
            "started_ns < $1 AND state <> 'receiving')",
            "DELETE FROM inbound_faxes WHERE started_ns < $1 AND state <> 'receiving'",
        };
        std::vector<Statement> statements;
        for (const std::string& deletion : deletions) statements.push_back({deletion, params});
        if (auto deleted = tx.CommitWith(statements); !deleted) return tl::unexpected(deleted.error());
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    std::sort(documents.begin(), documents.end());
    documents.erase(std::unique(documents.begin(), documents.end()), documents.end());
    return documents;
}

}  // namespace faxd::store
