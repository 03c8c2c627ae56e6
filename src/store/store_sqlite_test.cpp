// The contract suite's SQLite backend (a database file per test in a temp dir), and what only SQLite has:
// its URL forms, its pragmas, and the query plans the indexes exist for.
#include <stdlib.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "store/store.hpp"
#include "store/store_test_backend.hpp"

namespace faxd::store {
namespace testing {

class SqliteBackend final : public Backend {
public:
    std::string NewDatabaseUrl() override {
        std::string dir = (std::filesystem::temp_directory_path() / "faxd-store.XXXXXX").string();
        if (::mkdtemp(dir.data()) == nullptr) return {};
        const std::string url = "sqlite:" + dir + "/faxd.db";
        dirs_[url] = dir;
        return url;
    }
    void Release(const std::string& url) override {
        std::error_code ignored;
        std::filesystem::remove_all(dirs_[url], ignored);
        dirs_.erase(url);
    }

private:
    std::map<std::string, std::string> dirs_;
};

Backend& CurrentBackend() {
    static SqliteBackend backend;
    return backend;
}

}  // namespace testing

namespace {

using testing::Must;

class SqliteStore : public ::testing::Test {
protected:
    void SetUp() override { url_ = testing::CurrentBackend().NewDatabaseUrl(); }
    void TearDown() override { testing::CurrentBackend().Release(url_); }
    std::string Path() const { return url_.substr(7); }
    std::string url_;
};

TEST_F(SqliteStore, UrlForms) {
    EXPECT_TRUE(OpenStore(url_));
    EXPECT_TRUE(OpenStore("sqlite://" + Path()));  // sqlite:///abs/path
    auto unknown = OpenStore("mysql://localhost/faxd");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_FALSE(OpenStore("sqlite:"));
    auto unreachable = OpenStore("sqlite:/nonexistent-dir/x/faxd.db");
    ASSERT_FALSE(unreachable);
    EXPECT_EQ(unreachable.error().code, base::ErrorCode::kIo);
}

TEST_F(SqliteStore, ConnectionIsWalFullSyncWithForeignKeys) {
    auto store = Must(OpenStore(url_));
    Connection& c = store->connection();
    EXPECT_EQ(*Must(c.Exec("PRAGMA journal_mode")).rows[0][0], "wal");
    EXPECT_EQ(*Must(c.Exec("PRAGMA synchronous")).rows[0][0], "2");  // FULL
    EXPECT_EQ(*Must(c.Exec("PRAGMA foreign_keys")).rows[0][0], "1");
    EXPECT_NE(*Must(c.Exec("PRAGMA busy_timeout")).rows[0][0], "0");
}

// The indexes are there for these queries; a plan change (a reworded query that no longer matches a partial
// index) would turn the dispatcher's question into a sort of the whole queue.
TEST_F(SqliteStore, HotQueriesUseTheirIndexes) {
    auto store = Must(OpenStore(url_));
    Connection& c = store->connection();
    auto plan = [&](const std::string& sql, int parameters) {
        std::vector<Param> params;
        for (int i = 1; i <= parameters; ++i) params.emplace_back(i);
        std::string text;
        for (const Row& row : Must(c.Exec("EXPLAIN QUERY PLAN " + sql, params)).rows) {
            text += row.back().value_or("") + "\n";
        }
        return text;
    };
    const std::string due = plan(
        "SELECT id FROM jobs INDEXED BY jobs_due WHERE state IN ('scheduled', 'retry_wait') AND "
        "next_attempt_at_ns <= $1 AND (send_at_ns IS NULL OR send_at_ns <= $1) ORDER BY next_attempt_at_ns, "
        "id LIMIT $2",
        2);
    EXPECT_NE(due.find("jobs_due"), std::string::npos) << due;
    EXPECT_EQ(due.find("TEMP B-TREE"), std::string::npos) << due;
    const std::string outbox = plan(
        "SELECT id FROM jobs WHERE owner_id = $1 AND state = 'sent' AND (created_ns, id) < ($2, $3) ORDER BY "
        "created_ns DESC, id DESC LIMIT $4",
        4);
    EXPECT_NE(outbox.find("jobs_owner"), std::string::npos) << outbox;
    EXPECT_EQ(outbox.find("TEMP B-TREE"), std::string::npos) << outbox;
    const std::string inbox = plan(
        "SELECT i.id FROM inbound_recipients r JOIN inbound_faxes i ON i.id = r.inbound_id WHERE r.user_id = "
        "$1 AND (r.started_ns, r.inbound_id) < ($2, $3) ORDER BY r.started_ns DESC, r.inbound_id DESC LIMIT "
        "$4",
        4);
    EXPECT_NE(inbox.find("inbound_recipients_user"), std::string::npos) << inbox;
    EXPECT_EQ(inbox.find("TEMP B-TREE"), std::string::npos) << inbox;
}

TEST(SqlitePlaceholders, DollarNumbersBecomeQuestionNumbersOutsideQuotes) {
    EXPECT_EQ(ToSqlitePlaceholders("SELECT $1, $12 FROM t WHERE a = '$2' AND \"b$3\" = $3"),
              "SELECT ?1, ?12 FROM t WHERE a = '$2' AND \"b$3\" = ?3");
    EXPECT_EQ(ToSqlitePlaceholders("SELECT 'it''s $1' || $2"), "SELECT 'it''s $1' || ?2");
}

}  // namespace
}  // namespace faxd::store
