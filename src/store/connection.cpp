#include "store/connection.hpp"

#include <cstdio>

namespace faxd::store {

std::string Param::ToText() const {
    if (const auto* i = std::get_if<std::int64_t>(&value_)) return std::to_string(*i);
    if (const auto* d = std::get_if<double>(&value_)) {
        char text[32];
        std::snprintf(text, sizeof text, "%.17g", *d);  // round-trips a double
        return text;
    }
    if (const auto* s = std::get_if<std::string>(&value_)) return *s;
    return {};
}

base::Result<Transaction> Transaction::Begin(Connection& connection, TxMode mode) {
    if (auto begun = connection.Begin(mode); !begun) return tl::unexpected(begun.error());
    return Transaction(&connection);
}

Transaction::~Transaction() { Rollback(); }

base::Result<void> Transaction::Commit() {
    if (connection_ == nullptr)
        return base::MakeError(base::ErrorCode::kInternal, "transaction already ended");
    auto committed = connection_->Commit();
    if (!committed) {
        // A failed COMMIT leaves the transaction open on SQLite (e.g. busy) and closed on PostgreSQL.
        if (connection_->InTransaction()) (void)connection_->Rollback();
    }
    connection_ = nullptr;
    return committed;
}

base::Result<std::vector<ExecResult>> Transaction::CommitWith(const std::vector<Statement>& last) {
    if (connection_ == nullptr)
        return base::MakeError(base::ErrorCode::kInternal, "transaction already ended");
    auto results = connection_->ExecBatch(last, /*commit=*/true);
    if (!results || (!results->empty() && results->back().unique_violation)) {
        Rollback();
        return results;
    }
    connection_ = nullptr;
    return results;
}

void Transaction::Rollback() {
    if (connection_ == nullptr) return;
    if (connection_->InTransaction()) (void)connection_->Rollback();
    connection_ = nullptr;
}

std::string ToSqlitePlaceholders(std::string_view sql) {
    std::string out;
    out.reserve(sql.size());
    char quote = 0;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char c = sql[i];
        if (quote != 0) {
            if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
            out += '?';
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace faxd::store
