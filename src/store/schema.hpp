// The database schema as numbered migration steps. Each step runs once, inside its own transaction, and is
// recorded in `schema_migrations`; the same steps build the same schema on SQLite and PostgreSQL.
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "store/connection.hpp"

namespace faxd::store {

// The version a fully migrated database has.
int LatestSchemaVersion();

// Applies every step the database does not have yet; several nodes may call it at once (PostgreSQL: an
// advisory lock, SQLite: BEGIN IMMEDIATE). Refuses a database newer than this code. Returns the version.
base::Result<int> Migrate(Connection& connection, std::int64_t now_ns);
// The same, stopping after step `target`: for tests that build a database of an older version.
base::Result<int> MigrateTo(Connection& connection, std::int64_t now_ns, int target);

}  // namespace faxd::store
