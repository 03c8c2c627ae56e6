// See seed.hpp.
#include "seed.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& what) { throw std::runtime_error(what); }

class Db {
public:
    explicit Db(const std::filesystem::path& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) Die("cannot open " + path.string());
        sqlite3_busy_timeout(db_, 10'000);
    }
    ~Db() { sqlite3_close(db_); }
    void Exec(const std::string& sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            const std::string text = message ? message : "?";
            sqlite3_free(message);
            Die(sql.substr(0, 60) + ": " + text);
        }
    }
    std::int64_t Int(const std::string& sql) {
        sqlite3_stmt* statement = Prepare(sql);
        std::int64_t value = 0;
        if (sqlite3_step(statement) == SQLITE_ROW) value = sqlite3_column_int64(statement, 0);
        sqlite3_finalize(statement);
        return value;
    }
    sqlite3_stmt* Prepare(const std::string& sql) {
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK)
            Die(sql.substr(0, 60) + ": " + sqlite3_errmsg(db_));
        return statement;
    }
    // Binds the values (int64, text or null) and runs one row.
    using Value = std::variant<std::nullptr_t, std::int64_t, std::string>;
    void Run(sqlite3_stmt* statement, const std::vector<Value>& values) {
        for (std::size_t i = 0; i < values.size(); ++i) {
            const int at = static_cast<int>(i + 1);
            if (auto* number = std::get_if<std::int64_t>(&values[i])) {
                sqlite3_bind_int64(statement, at, *number);
            } else if (auto* text = std::get_if<std::string>(&values[i])) {
                sqlite3_bind_text(statement, at, text->data(), static_cast<int>(text->size()),
                                  SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_null(statement, at);
            }
        }
        if (sqlite3_step(statement) != SQLITE_DONE) Die(std::string("insert: ") + sqlite3_errmsg(db_));
        sqlite3_reset(statement);
    }

private:
    sqlite3* db_ = nullptr;
};


// N final jobs of the last 365 days, of kSeedUsers users (the first is "bench", level 2), one submission each
// (with one document), numbers from 50,000 distinct ones. References are of last year, and its reference
// counter is moved past them, so faxd's own submissions never collide with them.
}  // namespace

void Seed(const std::filesystem::path& database, long count) {
    Db db(database);
    db.Exec("PRAGMA synchronous = OFF");
    db.Exec("BEGIN IMMEDIATE");
    const std::int64_t first_user = db.Int("SELECT COALESCE(MAX(id), 0) + 1 FROM users");
    const std::int64_t first_job = db.Int("SELECT COALESCE(MAX(id), 0) + 1 FROM jobs");
    const std::int64_t first_submission = db.Int("SELECT COALESCE(MAX(id), 0) + 1 FROM submissions");
    {
        sqlite3_stmt* users =
            db.Prepare("INSERT INTO users (id, login, name, email, permission) VALUES (?, ?, ?, ?, ?)");
        for (int u = 0; u < kSeedUsers; ++u) {
            const std::string login = u == 0 ? "bench" : "seed" + std::to_string(u);
            db.Run(users, {first_user + u, login, "User " + login, login + "@example.com",
                           u == 0 ? Db::Value(std::int64_t{2}) : Db::Value(nullptr)});
        }
        sqlite3_finalize(users);
    }
    const std::time_t now_t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now_t, &tm);
    const int year = tm.tm_year + 1900 - 1;
    const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    const std::int64_t year_ns = std::chrono::nanoseconds(std::chrono::hours{24 * 365}).count();
    const std::int64_t base_sequence =
        db.Int("SELECT COALESCE(MAX(value), 0) FROM reference_counters WHERE year = " + std::to_string(year));
    if (base_sequence + count > 99'999'999) Die("--seed: at most 99,999,999 references a year");
    struct Final {
        const char* state;
        const char* failure;
        const char* reason;
    };
    const Final finals[] = {{"sent", "none", ""},
                            {"sent", "none", ""},
                            {"sent", "none", ""},
                            {"sent", "none", ""},
                            {"sent", "none", ""},
                            {"sent", "none", ""},
                            {"sent", "none", ""},
                            {"sent", "none", ""},
                            {"failed", "busy", "486 Busy Here"},
                            {"partially_sent", "call_dropped", "BYE during page 2"},
                            {"cancelled", "cancelled", "cancelled by the user"}};
    std::mt19937_64 random(42);
    sqlite3_stmt* submissions =
        db.Prepare("INSERT INTO submissions (id, owner_id, priority, created_ns) VALUES (?, ?, 100, ?)");
    sqlite3_stmt* documents =
        db.Prepare("INSERT INTO submission_documents (submission_id, position, name) VALUES (?, 0, ?)");
    sqlite3_stmt* jobs = db.Prepare(
        "INSERT INTO jobs (id, submission_id, reference, owner_id, number, state, priority, "
        "next_attempt_at_ns, "
        "created_ns, pages_total, pages_confirmed, tries, dials, document, last_failure, last_reason, "
        "finished_ns) VALUES (?, ?, ?, ?, ?, ?, 100, ?, ?, 3, ?, 1, 1, ?, ?, ?, ?)");
    for (long i = 0; i < count; ++i) {
        const std::int64_t job = first_job + i;
        const std::int64_t submission = first_submission + i;
        const std::int64_t owner = first_user + static_cast<std::int64_t>(random() % kSeedUsers);
        const std::int64_t created =
            now_ns - 3'600'000'000'000 -
            static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(year_ns));
        const Final& final = finals[random() % std::size(finals)];
        char reference[48];
        std::snprintf(reference, sizeof reference, "%04d.%08lld", year,
                      static_cast<long long>(base_sequence + i + 1));
        const std::string number = "0301" + std::to_string(1'000'000 + random() % 50'000);
        const std::int64_t confirmed =
            std::strcmp(final.state, "sent") == 0 ? 3 : (final.state[0] == 'p' ? 1 : 0);
        db.Run(submissions, {submission, owner, created});
        db.Run(documents, {submission, "orig" + std::to_string(submission) + ".pdf"});
        db.Run(jobs, {job, submission, std::string(reference), owner, number, std::string(final.state),
                      created, created, confirmed, "fax" + std::to_string(job) + ".tif",
                      std::string(final.failure), std::string(final.reason), created + 60'000'000'000});
    }
    sqlite3_finalize(submissions);
    sqlite3_finalize(documents);
    sqlite3_finalize(jobs);
    db.Exec("INSERT INTO reference_counters (year, value) VALUES (" + std::to_string(year) + ", " +
            std::to_string(base_sequence + count) +
            ") ON CONFLICT (year) DO UPDATE SET value = excluded.value");
    db.Exec("COMMIT");
}

// ---------------------------------------------------------------- phases
