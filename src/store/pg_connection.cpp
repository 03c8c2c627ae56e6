#include "store/pg_connection.hpp"

#include <libpq-fe.h>

#include <cstring>

namespace faxd::store {
namespace {

constexpr const char* kUniqueViolation = "23505";  // PostgreSQL error codes, appendix A

struct ResultDeleter {
    void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

void IgnoreNotice(void*, const char*) {}  // "relation already exists, skipping" and the like

std::string Trimmed(const char* message) {
    std::string text = message != nullptr ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

base::Error ErrorOf(pg_conn* conn, const PGresult* result, std::string_view what) {
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const std::string message =
        Trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
    base::ErrorCode code = base::ErrorCode::kIo;
    if (state != nullptr) {
        // 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 57014 query cancelled.
        if (std::strcmp(state, "40001") == 0 || std::strcmp(state, "40P01") == 0 ||
            std::strcmp(state, "55P03") == 0 || std::strcmp(state, "57014") == 0) {
            code = base::ErrorCode::kTimeout;
        } else if (state[0] != '0' || state[1] != '8') {  // class 08: connection exceptions stay kIo
            code = base::ErrorCode::kInternal;
        }
    }
    return base::Error{code,
                       "postgresql: " + std::string(what) + ": " + message +
                           (state != nullptr ? " [" + std::string(state) + "]" : std::string()),
                       std::nullopt, std::nullopt};
}

}  // namespace

base::Result<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& conninfo) {
    pg_conn* conn = PQconnectdb(conninfo.c_str());
    if (conn == nullptr) return base::MakeError(base::ErrorCode::kIo, "postgresql: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string message = Trimmed(PQerrorMessage(conn));
        PQfinish(conn);
        return base::MakeError(base::ErrorCode::kIo, "postgresql: cannot connect: " + message);
    }
    PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
    std::unique_ptr<PgConnection> connection(new PgConnection(conn, conninfo));
    // Times are integers in UTC and text is UTF-8 whatever the server's defaults are.
    if (auto set = connection->ExecScript("SET client_encoding = 'UTF8'"); !set)
        return tl::unexpected(set.error());
    return connection;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

base::Result<void> PgConnection::EnsureConnected() {
    if (PQstatus(conn_) == CONNECTION_OK) return {};
    PQreset(conn_);
    statements_.clear();  // prepared statements die with the session
    if (PQstatus(conn_) != CONNECTION_OK) {
        return base::MakeError(base::ErrorCode::kIo,
                               "postgresql: connection lost: " + Trimmed(PQerrorMessage(conn_)));
    }
    PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
    return {};
}

base::Result<const std::string*> PgConnection::Prepare(std::string_view sql) {
    auto found = statements_.find(std::string(sql));
    if (found != statements_.end()) return &found->second;
    std::string name = "s" + std::to_string(++next_statement_);
    const std::string text(sql);
    ResultPtr result(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
    if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        return tl::unexpected(ErrorOf(conn_, result.get(), "cannot prepare \"" + text.substr(0, 80) + "\""));
    }
    auto inserted = statements_.emplace(text, std::move(name));
    return &inserted.first->second;
}

base::Result<ExecResult> PgConnection::Exec(std::string_view sql, const std::vector<Param>& params,
                                            OnUniqueViolation on_unique) {
    if (!InTransaction()) {
        if (auto connected = EnsureConnected(); !connected) return tl::unexpected(connected.error());
    }
    if (begin_pending_) {
        auto results = Pipeline({Statement{std::string(sql), params, on_unique}}, /*commit=*/false);
        if (!results) return tl::unexpected(results.error());
        return std::move(results->back());
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (params[i].IsNull()) continue;
        texts[i] = params[i].ToText();
        values[i] = texts[i].c_str();
    }
    auto name = Prepare(sql);
    if (!name) return tl::unexpected(name.error());
    ResultPtr result(PQexecPrepared(conn_, (*name)->c_str(), static_cast<int>(values.size()), values.data(),
                                    nullptr, nullptr, 0));
    return ToExecResult(result.get(), sql, on_unique);
}

base::Result<std::vector<ExecResult>> PgConnection::ExecBatch(const std::vector<Statement>& statements,
                                                              bool commit) {
    if (!InTransaction()) {
        if (auto connected = EnsureConnected(); !connected) return tl::unexpected(connected.error());
    }
    if (statements.empty() && commit) {
        if (auto committed = Commit(); !committed) return tl::unexpected(committed.error());
        return std::vector<ExecResult>{};
    }
    return Pipeline(statements, commit);
}

base::Result<std::vector<ExecResult>> PgConnection::Pipeline(const std::vector<Statement>& statements,
                                                             bool commit) {
    const bool begin = std::exchange(begin_pending_, false);
    // What was sent, in order, so the results can be matched: a kind per result.
    enum class Sent { kBegin, kPrepare, kStatement, kCommit };
    std::vector<std::pair<Sent, std::size_t>> sent;
    std::unordered_map<std::string, std::string> preparing;  // new statements of this batch: text -> name
    bool ok = PQenterPipelineMode(conn_) == 1;
    if (ok && begin) {
        ok = PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
        sent.emplace_back(Sent::kBegin, 0);
    }
    for (std::size_t i = 0; ok && i < statements.size(); ++i) {
        const Statement& statement = statements[i];
        std::string name;
        if (auto cached = statements_.find(statement.sql); cached != statements_.end()) {
            name = cached->second;
        } else if (auto pending = preparing.find(statement.sql); pending != preparing.end()) {
            name = pending->second;
        } else {
            name = "s" + std::to_string(++next_statement_);
            preparing.emplace(statement.sql, name);
            ok = PQsendPrepare(conn_, name.c_str(), statement.sql.c_str(), 0, nullptr) == 1;
            sent.emplace_back(Sent::kPrepare, i);
        }
        std::vector<std::string> texts(statement.params.size());
        std::vector<const char*> values(statement.params.size(), nullptr);
        for (std::size_t p = 0; p < statement.params.size(); ++p) {
            if (statement.params[p].IsNull()) continue;
            texts[p] = statement.params[p].ToText();
            values[p] = texts[p].c_str();
        }
        // libpq copies the values into its output buffer here.
        ok = ok && PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(values.size()), values.data(),
                                       nullptr, nullptr, 0) == 1;
        sent.emplace_back(Sent::kStatement, i);
    }
    if (ok && commit) {
        ok = PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
        sent.emplace_back(Sent::kCommit, 0);
    }
    ok = ok && PQpipelineSync(conn_) == 1;

    // Results arrive in order, each followed by a null; the sync point ends the pipeline.
    std::vector<ResultPtr> results;
    for (;;) {
        PGresult* next = PQgetResult(conn_);
        if (next == nullptr) {
            if (!ok || PQstatus(conn_) != CONNECTION_OK) break;
            continue;
        }
        if (PQresultStatus(next) == PGRES_PIPELINE_SYNC) {
            PQclear(next);
            break;
        }
        results.emplace_back(next);
    }
    if (PQexitPipelineMode(conn_) != 1 || !ok || results.size() != sent.size()) {
        // A send failed half way or results are missing: the session is out of step, start a new one.
        const std::string message = Trimmed(PQerrorMessage(conn_));
        PQreset(conn_);
        statements_.clear();
        return base::MakeError(base::ErrorCode::kIo, "postgresql: pipeline failed: " + message);
    }

    std::vector<ExecResult> out;
    for (std::size_t r = 0; r < results.size(); ++r) {
        const auto [kind, index] = sent[r];
        PGresult* result = results[r].get();
        const ExecStatusType status = PQresultStatus(result);
        if (kind == Sent::kStatement) {
            const Statement& statement = statements[index];
            auto converted = ToExecResult(result, statement.sql, statement.on_unique);
            if (!converted) return tl::unexpected(converted.error());
            out.push_back(std::move(*converted));
            if (out.back().unique_violation) return out;  // the rest was not run
            continue;
        }
        if (status != PGRES_COMMAND_OK) {
            const std::string what = kind == Sent::kBegin ? "BEGIN"
                                     : kind == Sent::kCommit
                                         ? "COMMIT"
                                         : "cannot prepare \"" + statements[index].sql.substr(0, 80) + "\"";
            return tl::unexpected(ErrorOf(conn_, result, what));
        }
        if (kind == Sent::kPrepare)
            statements_.emplace(statements[index].sql, preparing[statements[index].sql]);
    }
    return out;
}

base::Result<ExecResult> PgConnection::ToExecResult(const pg_result* result, std::string_view sql,
                                                    OnUniqueViolation on_unique) const {
    const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
        if (on_unique == OnUniqueViolation::kReport && state != nullptr &&
            std::strcmp(state, kUniqueViolation) == 0) {
            ExecResult refused;
            refused.unique_violation = true;
            return refused;
        }
        return tl::unexpected(ErrorOf(conn_, result, sql.substr(0, 80)));
    }

    ExecResult out;
    const int rows = PQntuples(result);
    const int columns = PQnfields(result);
    out.rows.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
        Row row(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) {
            if (PQgetisnull(result, r, c)) continue;
            row[static_cast<std::size_t>(c)].emplace(PQgetvalue(result, r, c),
                                                     static_cast<std::size_t>(PQgetlength(result, r, c)));
        }
        out.rows.push_back(std::move(row));
    }
    const char* changed = PQcmdTuples(const_cast<pg_result*>(result));
    out.changed = (changed != nullptr && *changed != '\0') ? std::strtoll(changed, nullptr, 10) : 0;
    return out;
}

base::Result<void> PgConnection::ExecScript(std::string_view sql) {
    if (!InTransaction()) {
        if (auto connected = EnsureConnected(); !connected) return connected;
    }
    if (begin_pending_) {
        begin_pending_ = false;
        if (auto begun = ExecScript("BEGIN"); !begun) return begun;
    }
    const std::string text(sql);
    ResultPtr result(PQexec(conn_, text.c_str()));
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        return tl::unexpected(ErrorOf(conn_, result.get(), text.substr(0, 80)));
    }
    return {};
}

base::Result<void> PgConnection::Begin(TxMode) {
    if (InTransaction()) return base::MakeError(base::ErrorCode::kInternal, "postgresql: nested transaction");
    if (auto connected = EnsureConnected(); !connected) return connected;
    begin_pending_ = true;  // sent with the first statement
    return {};
}

base::Result<void> PgConnection::Commit() {
    if (begin_pending_) {  // nothing was said in the transaction
        begin_pending_ = false;
        return {};
    }
    // COMMIT of a transaction that failed earlier answers "ROLLBACK" without an error: treat it as one.
    const bool failed = PQtransactionStatus(conn_) == PQTRANS_INERROR;
    if (auto committed = ExecScript("COMMIT"); !committed) return committed;
    if (failed) return base::MakeError(base::ErrorCode::kInternal, "postgresql: transaction was aborted");
    return {};
}

base::Result<void> PgConnection::Rollback() {
    if (begin_pending_) {
        begin_pending_ = false;
        return {};
    }
    if (!InTransaction()) return {};
    return ExecScript("ROLLBACK");
}

bool PgConnection::InTransaction() const {
    if (begin_pending_) return true;
    const PGTransactionStatusType status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

}  // namespace faxd::store
