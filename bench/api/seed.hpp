// bench_api --seed: bulk-loads historic jobs straight into faxd's SQLite database (faxd is stopped
// meanwhile), so the listing phases run against a big store. Throws std::runtime_error on failure.
#pragma once

#include <filesystem>

// The seeded jobs belong to this many users (the first is "bench", level 2).
inline constexpr int kSeedUsers = 1000;

void Seed(const std::filesystem::path& database, long count);
