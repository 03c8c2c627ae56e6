// SQLite driver: WAL (readers never block the writer), synchronous=FULL (a committed transaction survives a
// power cut), foreign keys on, busy_timeout so concurrent writers (several connections on one file) wait
// for each other instead of failing. One connection is used by one thread at a time.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include "store/connection.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace faxd::store {

class SqliteConnection final : public Connection {
public:
    static base::Result<std::unique_ptr<SqliteConnection>> Open(const std::filesystem::path& path,
                                                                std::chrono::milliseconds busy_timeout);
    ~SqliteConnection() override;

    Dialect dialect() const override { return Dialect::kSqlite; }
    base::Result<ExecResult> Exec(std::string_view sql, const std::vector<Param>& params = {},
                                  OnUniqueViolation on_unique = OnUniqueViolation::kError) override;
    base::Result<std::vector<ExecResult>> ExecBatch(const std::vector<Statement>& statements,
                                                    bool commit) override;
    base::Result<void> ExecScript(std::string_view sql) override;
    base::Result<void> Begin(TxMode mode) override;
    base::Result<void> Commit() override;
    base::Result<void> Rollback() override;
    bool InTransaction() const override;

private:
    explicit SqliteConnection(sqlite3* db) : db_(db) {}
    base::Result<sqlite3_stmt*> Prepare(std::string_view sql);
    base::Error ErrorFrom(int rc, std::string_view what) const;

    sqlite3* db_;
    std::unordered_map<std::string, sqlite3_stmt*> statements_;  // by the text the caller passed
};

}  // namespace faxd::store
