#include "store/schema.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace faxd::store {
namespace {

// `{id}` becomes the dialect's auto-incrementing key. SQLite's AUTOINCREMENT (not plain rowid) and
// PostgreSQL's BIGSERIAL never hand out an id again after a purge, so an old link never shows a new job.
// Times are BIGINT nanoseconds since the Unix epoch (UTC), the exact value of base::WallTime; booleans are
// INTEGER 0/1 on both databases.
constexpr std::string_view kStep1 = R"sql(
CREATE TABLE users (
    id {id},
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    fax_email TEXT NOT NULL DEFAULT '',
    send_enabled INTEGER NOT NULL DEFAULT 1,
    receive_enabled INTEGER NOT NULL DEFAULT 1,
    fax_to_email INTEGER NOT NULL DEFAULT 1,
    attach_fax INTEGER NOT NULL DEFAULT 1,
    attachment_format TEXT NOT NULL DEFAULT 'pdf',
    cover_page TEXT NOT NULL DEFAULT 'default',
    language TEXT NOT NULL DEFAULT 'en',
    permission INTEGER
);
CREATE TABLE user_numbers (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    number TEXT NOT NULL,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_numbers_number ON user_numbers(number);

CREATE TABLE user_groups (
    id {id},
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, position)
);
CREATE TABLE group_numbers (
    group_id BIGINT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    number TEXT NOT NULL,
    PRIMARY KEY (group_id, position)
);

CREATE TABLE entities (
    id {id},
    name TEXT NOT NULL,
    number TEXT NOT NULL DEFAULT '',
    settings_template TEXT NOT NULL DEFAULT ''
);
CREATE TABLE entity_members (
    entity_id BIGINT NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    can_send INTEGER NOT NULL DEFAULT 1,
    can_receive INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (entity_id, position)
);

CREATE TABLE submissions (
    id {id},
    owner_id BIGINT NOT NULL REFERENCES users(id),
    entity_id BIGINT REFERENCES entities(id),
    cover_page TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL,
    send_at_ns BIGINT,
    kill_at_ns BIGINT,
    economy INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    created_ns BIGINT NOT NULL
);
-- A retried API call (same owner, same key) finds the first submission instead of sending twice.
CREATE UNIQUE INDEX submissions_idempotency ON submissions(owner_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE submission_documents (
    submission_id BIGINT NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (submission_id, position)
);

CREATE TABLE jobs (
    id {id},
    submission_id BIGINT NOT NULL REFERENCES submissions(id),
    reference TEXT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    entity_id BIGINT REFERENCES entities(id),
    number TEXT NOT NULL,
    recipient_name TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('queued', 'converting', 'scheduled', 'sending', 'retry_wait', 'held',
                                         'sent', 'partially_sent', 'failed', 'cancelled')),
    priority INTEGER NOT NULL,
    send_at_ns BIGINT,
    kill_at_ns BIGINT,
    next_attempt_at_ns BIGINT NOT NULL,
    created_ns BIGINT NOT NULL,
    pages_total INTEGER NOT NULL DEFAULT 0,
    pages_confirmed INTEGER NOT NULL DEFAULT 0,
    tries INTEGER NOT NULL DEFAULT 0,
    dials INTEGER NOT NULL DEFAULT 0,
    document TEXT NOT NULL DEFAULT '',
    economy INTEGER NOT NULL DEFAULT 0,
    prefer_audio INTEGER NOT NULL DEFAULT 0,
    disable_ecm INTEGER NOT NULL DEFAULT 0,
    last_failure TEXT NOT NULL DEFAULT 'none',
    last_reason TEXT NOT NULL DEFAULT '',
    node TEXT,              -- who holds the claim (sending, converting)
    lease_until_ns BIGINT,  -- the claim lapses after this unless renewed
    finished_ns BIGINT      -- when it reached a final state
);
CREATE UNIQUE INDEX jobs_reference ON jobs(reference);
-- One call per number across all nodes: the database itself refuses a second job in 'sending' to a number,
-- whatever the nodes believe.
CREATE UNIQUE INDEX jobs_one_call_per_number ON jobs(number) WHERE state = 'sending';
-- The dispatcher's question, answered in index order without sorting the queue.
CREATE INDEX jobs_due ON jobs(next_attempt_at_ns, id) WHERE state IN ('scheduled', 'retry_wait');
CREATE INDEX jobs_state ON jobs(state, created_ns, id);
CREATE INDEX jobs_owner ON jobs(owner_id, created_ns, id);
CREATE INDEX jobs_number ON jobs(number, created_ns, id);
CREATE INDEX jobs_submission ON jobs(submission_id);
CREATE INDEX jobs_finished ON jobs(finished_ns) WHERE finished_ns IS NOT NULL;

CREATE TABLE attempts (
    id {id},
    job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    started_ns BIGINT NOT NULL,
    duration_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    route TEXT NOT NULL DEFAULT '',
    used_t38 INTEGER NOT NULL DEFAULT 0,
    ecm INTEGER NOT NULL DEFAULT 0,
    failure TEXT NOT NULL,
    sip_status INTEGER NOT NULL DEFAULT 0,
    t30_code INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    pages_confirmed INTEGER NOT NULL DEFAULT 0,
    bit_rate INTEGER NOT NULL DEFAULT 0,
    remote_ident TEXT NOT NULL DEFAULT '',
    node TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_job ON attempts(job_id, id);

CREATE TABLE destination_hints (
    number TEXT PRIMARY KEY,
    prefer_audio INTEGER NOT NULL DEFAULT 0,
    disable_ecm INTEGER NOT NULL DEFAULT 0,
    updated_ns BIGINT NOT NULL
);

-- Reference numbers: one row per year, incremented inside the transaction that uses the numbers.
CREATE TABLE reference_counters (
    year INTEGER PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE inbound_faxes (
    id {id},
    reference TEXT NOT NULL,
    dnis TEXT NOT NULL DEFAULT '',
    ani TEXT NOT NULL DEFAULT '',
    remote_ident TEXT NOT NULL DEFAULT '',
    call_id TEXT NOT NULL DEFAULT '',
    node TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('receiving', 'received', 'partial', 'failed')),
    started_ns BIGINT NOT NULL,
    duration_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    document TEXT NOT NULL DEFAULT '',
    dest_kind TEXT,  -- user, entity, group; NULL: nobody took it
    dest_owner BIGINT,
    matched_by TEXT NOT NULL DEFAULT '',
    failure_reason TEXT NOT NULL DEFAULT '',
    lease_until_ns BIGINT
);
CREATE UNIQUE INDEX inbound_reference ON inbound_faxes(reference);
CREATE INDEX inbound_state ON inbound_faxes(state, started_ns);
CREATE INDEX inbound_owner ON inbound_faxes(dest_kind, dest_owner, started_ns, id);
CREATE INDEX inbound_started ON inbound_faxes(started_ns);
-- Whose inbox a fax is in. No foreign key on user_id: the default user of the routing config may not be a
-- row, and a received fax must be recorded whatever the directory says. started_ns is copied here so one
-- index gives a user's inbox page in order.
CREATE TABLE inbound_recipients (
    inbound_id BIGINT NOT NULL REFERENCES inbound_faxes(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    position INTEGER NOT NULL,
    started_ns BIGINT NOT NULL,
    PRIMARY KEY (inbound_id, user_id)
);
CREATE INDEX inbound_recipients_user ON inbound_recipients(user_id, started_ns, inbound_id);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
)sql";

// Pages the receiver confirmed in the attempt in progress, saved as each one is confirmed: an attempt cut
// short by a crash still counts them, so the retry does not send them again.
constexpr std::string_view kStep2 = R"sql(
ALTER TABLE jobs ADD COLUMN attempt_pages INTEGER NOT NULL DEFAULT 0;
)sql";

// Who calls the API and whom faxd tells: password hashes, API tokens, webhooks and their delivery log; and
// the resolution a submission asked for. A token is stored only as the hex SHA-256 of its secret, so the
// table gives nobody a usable token. Webhook events are a comma-separated list ("" = every event).
constexpr std::string_view kStep3 = R"sql(
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE submissions ADD COLUMN resolution TEXT NOT NULL DEFAULT '';

CREATE TABLE api_tokens (
    id {id},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL DEFAULT '',
    created_ns BIGINT NOT NULL,
    last_used_ns BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id, id);

CREATE TABLE webhooks (
    id {id},
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,  -- NULL: global
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    created_ns BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id {id},
    webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ns BIGINT NOT NULL,
    next_attempt_at_ns BIGINT NOT NULL,
    last_status INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
-- The sender's question (pending and due, oldest first), answered in index order.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at_ns, id);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, created_ns, id);
)sql";

// Step 4: the API's unfiltered listing pages jobs newest first (at 1M jobs without it: 6 s per page).
constexpr std::string_view kStep4 = R"sql(
CREATE INDEX jobs_created ON jobs (created_ns, id);
)sql";

// Step 5: how the e-mail gateway checks a user's mail (issue 7): the Argon2id hash of the PIN a mail must
// carry, and the fingerprint of the user's PGP key (the public key itself lives in faxd's keyring).
constexpr std::string_view kStep5 = R"sql(
ALTER TABLE users ADD COLUMN mail_pin_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN pgp_fingerprint TEXT NOT NULL DEFAULT '';
)sql";

constexpr std::array<std::string_view, 5> kSteps{kStep1, kStep2, kStep3, kStep4, kStep5};

std::string ForDialect(std::string_view sql, Dialect dialect) {
    const std::string_view id =
        dialect == Dialect::kSqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY";
    std::string out(sql);
    for (std::size_t at = out.find("{id}"); at != std::string::npos; at = out.find("{id}", at + id.size())) {
        out.replace(at, 4, id);
    }
    return out;
}

// Any constant shared by all faxd nodes: migrations of one database never run side by side.
constexpr std::int64_t kMigrationLock = 0x66617864'6d696772;  // "faxdmigr"

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(kSteps.size()); }

base::Result<int> Migrate(Connection& connection, std::int64_t now_ns) {
    return MigrateTo(connection, now_ns, LatestSchemaVersion());
}

base::Result<int> MigrateTo(Connection& connection, std::int64_t now_ns, int target) {
    int version = 0;
    for (int step = 1; step <= std::min(target, LatestSchemaVersion()); ++step) {
        auto tx = Transaction::Begin(connection, TxMode::kWrite);
        if (!tx) return tl::unexpected(tx.error());
        if (connection.dialect() == Dialect::kPostgres) {
            auto locked = connection.Exec("SELECT pg_advisory_xact_lock($1)", {kMigrationLock});
            if (!locked) return tl::unexpected(locked.error());
        }
        if (auto created = connection.ExecScript(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "applied_ns BIGINT NOT NULL)");
            !created) {
            return tl::unexpected(created.error());
        }
        auto newest = connection.Exec("SELECT MAX(version) FROM schema_migrations");
        if (!newest) return tl::unexpected(newest.error());
        const auto& cell = newest->rows.at(0).at(0);
        version = cell ? std::stoi(*cell) : 0;
        if (version > LatestSchemaVersion()) {
            return base::MakeError(base::ErrorCode::kUnsupported,
                                   "database schema version " + std::to_string(version) +
                                       " is newer than this faxd (" + std::to_string(LatestSchemaVersion()) +
                                       ")");
        }
        if (version >= step) continue;  // the transaction rolls back: nothing was written
        if (auto applied = connection.ExecScript(
                ForDialect(kSteps[static_cast<std::size_t>(step - 1)], connection.dialect()));
            !applied) {
            return tl::unexpected(applied.error());
        }
        auto recorded = connection.Exec("INSERT INTO schema_migrations (version, applied_ns) VALUES ($1, $2)",
                                        {step, now_ns});
        if (!recorded) return tl::unexpected(recorded.error());
        if (auto committed = tx->Commit(); !committed) return tl::unexpected(committed.error());
        version = step;
    }
    return version;
}

}  // namespace faxd::store
