// PostgreSQL driver over libpq's C API: statements are prepared once per connection (PQprepare, named by a
// counter) and run with text parameters (PQexecPrepared); the server infers the types from the query. Round
// trips are what a transaction costs here, so BEGIN is not sent on its own but in one pipeline with the
// first statement, and ExecBatch sends independent statements (and the COMMIT) in one pipeline. A lost
// connection is re-established at the next call outside a transaction. One connection is used by one thread
// at a time.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "store/connection.hpp"

struct pg_conn;
struct pg_result;

namespace faxd::store {

class PgConnection final : public Connection {
public:
    // `conninfo`: a libpq connection string or URI ("postgresql://user@host:port/db?...").
    static base::Result<std::unique_ptr<PgConnection>> Open(const std::string& conninfo);
    ~PgConnection() override;

    Dialect dialect() const override { return Dialect::kPostgres; }
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
    PgConnection(pg_conn* conn, std::string conninfo) : conn_(conn), conninfo_(std::move(conninfo)) {}
    base::Result<void> EnsureConnected();
    base::Result<const std::string*> Prepare(std::string_view sql);
    // Sends a pending BEGIN, the statements (each prepared first if new) and an optional COMMIT in one
    // pipeline, then reads the results.
    base::Result<std::vector<ExecResult>> Pipeline(const std::vector<Statement>& statements, bool commit);
    base::Result<ExecResult> ToExecResult(const pg_result* result, std::string_view sql,
                                          OnUniqueViolation on_unique) const;

    pg_conn* conn_;
    std::string conninfo_;
    std::unordered_map<std::string, std::string> statements_;  // SQL text -> prepared statement name
    int next_statement_ = 0;
    bool begin_pending_ = false;  // Begin() was called; BEGIN goes out with the first statement
};

}  // namespace faxd::store
