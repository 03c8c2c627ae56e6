// One SQL layer, two drivers. The store writes each query once, with PostgreSQL-style `$1, $2` placeholders,
// and runs it through a Connection: SqliteConnection (sqlite3) or PgConnection (libpq). Where the two SQL
// dialects differ the store asks dialect() and changes a word (FOR UPDATE SKIP LOCKED, the id column type);
// everything else is the same text on both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.hpp"

namespace faxd::store {

enum class Dialect { kSqlite, kPostgres };

// A query parameter: NULL, an integer, a real or a text. SQLite binds it natively; PostgreSQL receives its
// text form and the server infers the type from the query.
class Param {
public:
    using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

    Param() = default;  // NULL
    Param(std::nullopt_t) {}
    Param(std::int64_t value) : value_(value) {}
    Param(int value) : value_(static_cast<std::int64_t>(value)) {}
    Param(bool value) : value_(static_cast<std::int64_t>(value ? 1 : 0)) {}
    Param(double value) : value_(value) {}
    Param(std::string value) : value_(std::move(value)) {}
    Param(std::string_view value) : value_(std::string(value)) {}
    Param(const char* value) : value_(std::string(value)) {}
    template <typename T>
    Param(const std::optional<T>& value) {
        if (value) *this = Param(*value);
    }

    const Value& value() const { return value_; }
    bool IsNull() const { return std::holds_alternative<std::monostate>(value_); }
    std::string ToText() const;  // PostgreSQL text format; "" for NULL (never sent: NULL is a null pointer)

private:
    Value value_;
};

using Row = std::vector<std::optional<std::string>>;  // one column per entry, nullopt for SQL NULL

struct ExecResult {
    std::vector<Row> rows;
    std::int64_t changed = 0;       // rows inserted, updated or deleted by the statement
    bool unique_violation = false;  // only with OnUniqueViolation::kReport
};

// A unique index refusing a row is sometimes an answer, not a failure: "another job to this number is
// already being sent". The caller says when it expects one.
enum class OnUniqueViolation { kError, kReport };

struct Statement {
    std::string sql;
    std::vector<Param> params;
    OnUniqueViolation on_unique = OnUniqueViolation::kError;
};

enum class TxMode {
    kRead,   // SQLite: BEGIN (deferred); PostgreSQL: BEGIN
    kWrite,  // SQLite: BEGIN IMMEDIATE, so the write lock is taken up front and waits on busy_timeout instead
             // of failing when a read transaction upgrades; PostgreSQL: BEGIN
};

class Connection {
public:
    virtual ~Connection() = default;
    virtual Dialect dialect() const = 0;

    // Runs one statement with `$n` placeholders. Statements are prepared once and cached by their text.
    // After a unique violation inside a PostgreSQL transaction the transaction is aborted: roll back.
    virtual base::Result<ExecResult> Exec(std::string_view sql, const std::vector<Param>& params = {},
                                          OnUniqueViolation on_unique = OnUniqueViolation::kError) = 0;
    // Runs statements in order and stops at the first error. PostgreSQL sends them in one round trip (a
    // pipeline), so none may need the result of another of the same batch. With `commit`, the transaction
    // commits in that same round trip. The results are in order; a statement refused by a unique index
    // (kReport) ends the batch as the last result, with unique_violation set, and nothing is committed.
    virtual base::Result<std::vector<ExecResult>> ExecBatch(const std::vector<Statement>& statements,
                                                            bool commit) = 0;
    // Runs several statements without parameters (migrations); nothing is cached.
    virtual base::Result<void> ExecScript(std::string_view sql) = 0;

    virtual base::Result<void> Begin(TxMode mode) = 0;
    virtual base::Result<void> Commit() = 0;
    virtual base::Result<void> Rollback() = 0;
    virtual bool InTransaction() const = 0;
};

// Rolls back on destruction unless committed: an error return or an exception between two statements leaves
// nothing behind.
class Transaction {
public:
    static base::Result<Transaction> Begin(Connection& connection, TxMode mode);
    Transaction(Transaction&& other) noexcept : connection_(std::exchange(other.connection_, nullptr)) {}
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    Connection& connection() { return *connection_; }
    bool active() const { return connection_ != nullptr; }  // neither committed nor rolled back yet
    base::Result<void> Commit();
    // Runs the last statements and commits, in one round trip on PostgreSQL (see Connection::ExecBatch).
    // After a unique violation (kReport) nothing is committed and the transaction is rolled back.
    base::Result<std::vector<ExecResult>> CommitWith(const std::vector<Statement>& last);
    void Rollback();

private:
    explicit Transaction(Connection* connection) : connection_(connection) {}
    Connection* connection_;  // null once committed or rolled back
};

// "$1 ... $3" -> "?1 ... ?3" outside quoted text, for SQLite (which reads `$name` as a named parameter).
std::string ToSqlitePlaceholders(std::string_view sql);

}  // namespace faxd::store
