#include "store/sqlite_connection.hpp"

#include <sqlite3.h>

namespace faxd::store {
namespace {

bool IsBusy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

}  // namespace

base::Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::filesystem::path& path, std::chrono::milliseconds busy_timeout) {
    sqlite3* db = nullptr;
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close_v2(db);
        return base::MakeError(base::ErrorCode::kIo,
                               "cannot open sqlite database " + path.string() + ": " + message);
    }
    std::unique_ptr<SqliteConnection> connection(new SqliteConnection(db));
    sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
    // journal_mode answers with a row; the others are silent. WAL is a property of the file, the rest of
    // the connection.
    auto wal = connection->Exec("PRAGMA journal_mode=WAL");
    if (!wal) return tl::unexpected(wal.error());
    if (wal->rows.empty() || !wal->rows[0][0] || *wal->rows[0][0] != "wal") {
        return base::MakeError(base::ErrorCode::kUnsupported,
                               "sqlite database " + path.string() + " cannot use WAL journal mode");
    }
    // A 32 MB page cache (the default is 2 MB) keeps the indexes of a large history in memory; the WAL file
    // is cut back to 64 MB after checkpoints instead of keeping the size of the largest transaction.
    if (auto pragmas = connection->ExecScript(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-32768; "
            "PRAGMA journal_size_limit=67108864;");
        !pragmas) {
        return tl::unexpected(pragmas.error());
    }
    return connection;
}

SqliteConnection::~SqliteConnection() {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
}

base::Error SqliteConnection::ErrorFrom(int rc, std::string_view what) const {
    const base::ErrorCode code = IsBusy(rc) ? base::ErrorCode::kTimeout : base::ErrorCode::kIo;
    return base::Error{code, "sqlite: " + std::string(what) + ": " + sqlite3_errmsg(db_), std::nullopt,
                       std::nullopt};
}

base::Result<sqlite3_stmt*> SqliteConnection::Prepare(std::string_view sql) {
    auto found = statements_.find(std::string(sql));
    if (found != statements_.end()) return found->second;
    const std::string text = ToSqlitePlaceholders(sql);
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v3(db_, text.data(), static_cast<int>(text.size()),
                                      SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(ErrorFrom(rc, "cannot prepare \"" + text + "\""));
    statements_.emplace(std::string(sql), statement);
    return statement;
}

base::Result<ExecResult> SqliteConnection::Exec(std::string_view sql, const std::vector<Param>& params,
                                                OnUniqueViolation on_unique) {
    auto prepared = Prepare(sql);
    if (!prepared) return tl::unexpected(prepared.error());
    sqlite3_stmt* statement = *prepared;
    // Reset and unbind whatever happens, so the cached statement holds no lock and no stale value.
    struct Reset {
        sqlite3_stmt* s;
        ~Reset() {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
        }
    } reset{statement};

    for (std::size_t i = 0; i < params.size(); ++i) {
        const int index = static_cast<int>(i + 1);
        const Param::Value& value = params[i].value();
        int rc = SQLITE_OK;
        if (const auto* n = std::get_if<std::int64_t>(&value)) {
            rc = sqlite3_bind_int64(statement, index, *n);
        } else if (const auto* d = std::get_if<double>(&value)) {
            rc = sqlite3_bind_double(statement, index, *d);
        } else if (const auto* s = std::get_if<std::string>(&value)) {
            rc = sqlite3_bind_text(statement, index, s->data(), static_cast<int>(s->size()), SQLITE_STATIC);
        } else {
            rc = sqlite3_bind_null(statement, index);
        }
        if (rc != SQLITE_OK) return tl::unexpected(ErrorFrom(rc, "cannot bind parameter"));
    }

    ExecResult result;
    const int columns = sqlite3_column_count(statement);
    for (;;) {
        const int rc = sqlite3_step(statement);
        if (rc == SQLITE_ROW) {
            Row row(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                if (sqlite3_column_type(statement, c) == SQLITE_NULL) continue;
                const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, c));
                row[static_cast<std::size_t>(c)].emplace(
                    text, static_cast<std::size_t>(sqlite3_column_bytes(statement, c)));
            }
            result.rows.push_back(std::move(row));
            continue;
        }
        if (rc == SQLITE_DONE) break;
        if ((rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) &&
            on_unique == OnUniqueViolation::kReport) {
            result.unique_violation = true;
            return result;
        }
        return tl::unexpected(ErrorFrom(rc, std::string(sql.substr(0, 80))));
    }
    result.changed = sqlite3_changes64(db_);
    return result;
}

base::Result<std::vector<ExecResult>> SqliteConnection::ExecBatch(const std::vector<Statement>& statements,
                                                                  bool commit) {
    // In-process: a batch is only a loop.
    std::vector<ExecResult> results;
    for (const Statement& statement : statements) {
        auto result = Exec(statement.sql, statement.params, statement.on_unique);
        if (!result) return tl::unexpected(result.error());
        results.push_back(std::move(*result));
        if (results.back().unique_violation) return results;
    }
    if (commit) {
        if (auto committed = Commit(); !committed) return tl::unexpected(committed.error());
    }
    return results;
}

base::Result<void> SqliteConnection::ExecScript(std::string_view sql) {
    char* message = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        return base::MakeError(IsBusy(rc) ? base::ErrorCode::kTimeout : base::ErrorCode::kIo,
                               "sqlite: " + detail);
    }
    return {};
}

base::Result<void> SqliteConnection::Begin(TxMode mode) {
    if (InTransaction()) return base::MakeError(base::ErrorCode::kInternal, "sqlite: nested transaction");
    auto begun = Exec(mode == TxMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!begun) return tl::unexpected(begun.error());
    return {};
}

base::Result<void> SqliteConnection::Commit() {
    auto committed = Exec("COMMIT");
    if (!committed) return tl::unexpected(committed.error());
    return {};
}

base::Result<void> SqliteConnection::Rollback() {
    if (!InTransaction()) return {};
    auto rolled_back = Exec("ROLLBACK");
    if (!rolled_back) return tl::unexpected(rolled_back.error());
    return {};
}

bool SqliteConnection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace faxd::store
