// bench_queue: the store under a realistic load, on SQLite and on PostgreSQL 15 in the same run. Seeds
// 100,000 dispatchable jobs and 1,000,000 faxes of history (final jobs and received faxes of ~1,000 users),
// then measures what the dispatcher and the API do all day:
//   dispatch   DueJobs(100) + NumbersInCall + ClaimForSending of one job, per job   (aim <= 1 ms)
//   page       one page (50) of one user's outbox or inbox with a state filter      (aim p99 <= 50 ms)
//   enqueue    Submit of a one-recipient submission, each its own transaction      (aim >= 2,000/s)
// PostgreSQL runs durable (fsync and synchronous_commit on) like SQLite (WAL, synchronous=FULL), so both
// pay one disk flush per commit. The reference measured in the same run is the disk itself: fdatasync of a
// 4 KiB append on the same file system, before and after; a claim or a submission cannot commit faster.
// Not a test: it prints figures. --quick: 10x smaller.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "postgres_cluster.hpp"
#include "store/store.hpp"

namespace {

using namespace faxd;
using namespace std::chrono_literals;
using store::Param;
using SteadyClock = std::chrono::steady_clock;

struct Sizes {
    int users = 1'000;
    int queued = 100'000;
    int history = 1'000'000;  // 60 % final jobs, 40 % received faxes
    int dispatches = 2'000;
    int pages = 200;
    int enqueues = 3'000;
};

struct Figures {
    double fsync_before_ms = 0, fsync_after_ms = 0;
    double round_trip_ms = 0;
    double seed_seconds = 0;
    double dispatch_ms = 0, dispatch_p99_ms = 0;
    double reads_ms = 0, claim_ms = 0;
    double finish_ms = 0;
    double outbox_p50 = 0, outbox_p99 = 0;
    double inbox_p50 = 0, inbox_p99 = 0;
    double enqueue_per_s = 0, enqueue4_per_s = 0;
};

// Failures unwind (so the throwaway cluster is stopped and the temporary files go) and end in main().
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void Die(const std::string& what) { throw Failure(what); }

template <typename T>
T Ok(base::Result<T> result, const char* what) {
    if (!result) Die(std::string(what) + ": " + result.error().ToString());
    return std::move(*result);
}
void Ok(base::Result<void> result, const char* what) {
    if (!result) Die(std::string(what) + ": " + result.error().ToString());
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(at, values.size() - 1)];
}

// p50 of fdatasync after a 4 KiB append, in `dir`: the floor under every durable commit.
double FsyncMs(const std::filesystem::path& dir) {
    const auto path = dir / "fsync-probe";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) Die("cannot open " + path.string());
    const std::string block(4096, 'x');
    std::vector<double> samples;
    for (int i = 0; i < 100; ++i) {
        if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) Die("write");
        const auto start = SteadyClock::now();
        ::fdatasync(fd);
        samples.push_back(Ms(SteadyClock::now() - start));
    }
    ::close(fd);
    ::unlink(path.c_str());
    return Percentile(samples, 0.5);
}

// Multi-row INSERTs of 400 rows, one prepared statement per batch size. Every table flushes at the same row
// count, so rows added first (a submission) reach the database before the rows that refer to them (its job).
class BulkInsert {
public:
    BulkInsert(store::Connection& c, std::string head, int columns)
        : c_(c), head_(std::move(head)), columns_(columns) {}
    ~BulkInsert() { Flush(); }
    void Add(std::vector<Param> row) {
        for (auto& value : row) params_.push_back(std::move(value));
        if (++rows_ == kRowsPerBatch) Flush();
    }
    void Flush() {
        if (rows_ == 0) return;
        std::string sql = head_ + " VALUES ";
        int n = 0;
        for (int r = 0; r < rows_; ++r) {
            sql += r == 0 ? "(" : ", (";
            for (int col = 0; col < columns_; ++col) sql += (col == 0 ? "$" : ", $") + std::to_string(++n);
            sql += ")";
        }
        Ok(c_.Exec(sql, params_), head_.c_str());
        params_.clear();
        rows_ = 0;
    }

private:
    store::Connection& c_;
    std::string head_;
    static constexpr int kRowsPerBatch = 400;
    int columns_;
    int rows_ = 0;
    std::vector<Param> params_;
};

std::string Reference(int year, std::int64_t sequence) {
    return core::ReferenceNumber{year, sequence}.ToString();
}

std::string Number(std::mt19937_64& random, int distinct) {
    return "0301" + std::to_string(1'000'000 + static_cast<int>(random() % static_cast<unsigned>(distinct)));
}

void Seed(store::Store& db, const Sizes& sizes, base::WallTime now) {
    store::Connection& c = db.connection();
    std::mt19937_64 random(42);
    const std::int64_t now_ns = now.time_since_epoch().count();
    const std::int64_t year_ns = std::chrono::nanoseconds(std::chrono::hours{24 * 365}).count();
    const char* finals[] = {"sent", "sent", "sent",   "sent",           "sent",     "sent",
                            "sent", "sent", "failed", "partially_sent", "cancelled"};
    const char* inbound_states[] = {"received", "received", "received", "partial", "failed"};
    Ok(c.Begin(store::TxMode::kWrite), "begin");
    {
        BulkInsert users(c, "INSERT INTO users (id, login, name, email)", 4);
        for (int u = 1; u <= sizes.users; ++u) {
            users.Add({u, "user" + std::to_string(u), "User " + std::to_string(u),
                       "user" + std::to_string(u) + "@example.com"});
        }
    }
    const int history_jobs = sizes.history * 6 / 10;
    const int inbound = sizes.history - history_jobs;
    const int jobs = history_jobs + sizes.queued;
    {
        BulkInsert submissions(c, "INSERT INTO submissions (id, owner_id, priority, created_ns)", 4);
        BulkInsert documents(c, "INSERT INTO submission_documents (submission_id, position, name)", 3);
        BulkInsert rows(
            c,
            "INSERT INTO jobs (id, submission_id, reference, owner_id, number, state, priority, "
            "next_attempt_at_ns, created_ns, pages_total, pages_confirmed, tries, dials, document, "
            "finished_ns)",
            15);
        for (int j = 1; j <= jobs; ++j) {
            const bool history = j <= history_jobs;
            const int owner = 1 + static_cast<int>(random() % static_cast<unsigned>(sizes.users));
            const std::int64_t created =
                history ? now_ns - static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(year_ns))
                        : now_ns - static_cast<std::int64_t>(random() % 3'600'000'000'000ULL);
            const char* state = history ? finals[random() % std::size(finals)] : "scheduled";
            submissions.Add({j, owner, 100, created});
            documents.Add({j, 0, "orig" + std::to_string(j) + ".pdf"});
            rows.Add({j, j, history ? Reference(2025, j) : Reference(2026, j - history_jobs), owner,
                      Number(random, history ? 50'000 : 20'000), state, 100, created, created, 3,
                      history ? 3 : 0, history ? 1 : 0, history ? 1 : 0, "fax" + std::to_string(j) + ".tif",
                      history ? Param(created + std::int64_t{60'000'000'000}) : Param()});
        }
    }
    {
        BulkInsert faxes(
            c,
            "INSERT INTO inbound_faxes (id, reference, dnis, ani, node, state, started_ns, pages, document, "
            "dest_kind, dest_owner)",
            11);
        BulkInsert recipients(c, "INSERT INTO inbound_recipients (inbound_id, user_id, position, started_ns)",
                              4);
        for (int i = 1; i <= inbound; ++i) {
            const int owner = 1 + static_cast<int>(random() % static_cast<unsigned>(sizes.users));
            const std::int64_t started =
                now_ns - static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(year_ns));
            faxes.Add({i, Reference(2025, history_jobs + i), std::to_string(1000 + owner),
                       Number(random, 50'000), "node-a", inbound_states[random() % std::size(inbound_states)],
                       started, 2, "in" + std::to_string(i) + ".tif", "user", owner});
            recipients.Add({i, owner, 0, started});
        }
    }
    Ok(c.Exec("INSERT INTO reference_counters (year, value) VALUES ($1, $2), ($3, $4)",
              {2025, history_jobs + inbound, 2026, sizes.queued}),
       "counters");
    if (db.dialect() == store::Dialect::kPostgres) {
        // Explicit ids do not move the sequences behind BIGSERIAL.
        for (const char* table : {"users", "submissions", "jobs", "inbound_faxes"}) {
            Ok(c.Exec(std::string("SELECT setval(pg_get_serial_sequence('") + table +
                      "', 'id'), (SELECT MAX(id) FROM " + table + "))"),
               "setval");
        }
    }
    Ok(c.Commit(), "commit");
    // PostgreSQL's autovacuum would gather statistics soon after such a load; do it now. SQLite runs
    // without statistics, as faxd leaves it (its hot queries do not depend on them).
    if (db.dialect() == store::Dialect::kPostgres) Ok(c.ExecScript("ANALYZE"), "analyze");
}

void MeasureDispatch(store::Store& db, const Sizes& sizes, Figures& figures) {
    std::vector<double> per_job;
    double reads_total = 0, claim_total = 0;
    double finish_total = 0;
    int finished = 0;
    std::deque<core::JobId> in_call;  // about 20 calls stay up, as on a busy trunk
    const core::NodeId node = "node-a";
    core::RetryDecision sent;
    sent.next = core::JobState::kSent;
    core::Attempt attempt;
    attempt.pages_confirmed = 3;
    for (int i = 0; i < sizes.dispatches; ++i) {
        const auto start = SteadyClock::now();
        const base::WallTime now =
            std::chrono::time_point_cast<base::Duration>(std::chrono::system_clock::now());
        auto due = Ok(db.DueJobs(now, 100), "DueJobs");
        auto numbers = Ok(db.NumbersInCall(), "NumbersInCall");
        const std::set<std::string> busy(numbers.begin(), numbers.end());
        const auto read = SteadyClock::now();
        reads_total += Ms(read - start);
        bool claimed = false;
        for (const core::Job& job : due) {
            if (busy.contains(job.number)) continue;
            if (Ok(db.ClaimForSending(job.id, node, now + 60s), "Claim")) {
                in_call.push_back(job.id);
                claimed = true;
                break;
            }
        }
        const auto end = SteadyClock::now();
        per_job.push_back(Ms(end - start));
        claim_total += Ms(end - read);
        if (!claimed) Die("no job could be claimed");
        if (in_call.size() > 20) {
            const auto begin = SteadyClock::now();
            Ok(db.FinishAttempt(in_call.front(), node, attempt, sent), "FinishAttempt");
            finish_total += Ms(SteadyClock::now() - begin);
            ++finished;
            in_call.pop_front();
        }
    }
    double total = 0;
    for (double ms : per_job) total += ms;
    figures.dispatch_ms = total / static_cast<double>(per_job.size());
    figures.dispatch_p99_ms = Percentile(per_job, 0.99);
    figures.reads_ms = reads_total / static_cast<double>(per_job.size());
    figures.claim_ms = claim_total / static_cast<double>(per_job.size());
    figures.finish_ms = finished > 0 ? finish_total / finished : 0;
}

void MeasurePages(store::Store& db, const Sizes& sizes, Figures& figures) {
    std::mt19937_64 random(7);
    std::vector<double> outbox, inbox;
    for (int i = 0; i < sizes.pages; ++i) {
        const core::UserId user =
            1 + static_cast<core::UserId>(random() % static_cast<unsigned>(sizes.users));
        store::JobFilter jobs;
        jobs.owner = user;
        jobs.state = core::JobState::kSent;
        auto start = SteadyClock::now();
        auto page = Ok(db.ListJobs(jobs, std::nullopt, 50), "ListJobs");
        outbox.push_back(Ms(SteadyClock::now() - start));
        if (page.items.empty()) Die("empty outbox page");
        store::InboundFilter faxes;
        faxes.recipient = user;
        faxes.state = core::InboundState::kReceived;
        start = SteadyClock::now();
        auto received = Ok(db.ListInbound(faxes, std::nullopt, 50), "ListInbound");
        inbox.push_back(Ms(SteadyClock::now() - start));
        if (received.items.empty()) Die("empty inbox page");
    }
    figures.outbox_p50 = Percentile(outbox, 0.5);
    figures.outbox_p99 = Percentile(outbox, 0.99);
    figures.inbox_p50 = Percentile(inbox, 0.5);
    figures.inbox_p99 = Percentile(inbox, 0.99);
}

double Enqueue(const std::vector<store::Store*>& stores, const Sizes& sizes) {
    const int per_client = sizes.enqueues / static_cast<int>(stores.size());
    const auto start = SteadyClock::now();
    std::vector<std::thread> clients;
    std::vector<std::string> errors(stores.size());
    for (std::size_t k = 0; k < stores.size(); ++k) {
        clients.emplace_back([&, k] {
            try {
                std::mt19937_64 random(100 + k);
                for (int i = 0; i < per_client; ++i) {
                    core::NewSubmission submission;
                    submission.owner =
                        1 + static_cast<core::UserId>(random() % static_cast<unsigned>(sizes.users));
                    submission.recipients = {{Number(random, 20'000), "Someone"}};
                    submission.documents = {"upload.pdf"};
                    const base::WallTime now =
                        std::chrono::time_point_cast<base::Duration>(std::chrono::system_clock::now());
                    Ok(stores[k]->Submit(submission, now), "Submit");
                }
            } catch (const Failure& failure) {
                errors[k] = failure.what();
            }
        });
    }
    for (auto& client : clients) client.join();
    for (const std::string& error : errors) {
        if (!error.empty()) Die(error);
    }
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
    return per_client * static_cast<double>(stores.size()) / seconds;
}

Figures Run(const std::string& url, const std::filesystem::path& disk, const Sizes& sizes) {
    Figures figures;
    figures.fsync_before_ms = FsyncMs(disk);
    auto db = Ok(store::OpenStore(url), "open");
    const auto start = SteadyClock::now();
    Seed(*db, sizes, std::chrono::time_point_cast<base::Duration>(std::chrono::system_clock::now()));
    figures.seed_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
    std::fprintf(stderr, "  seeded in %.1f s\n", figures.seed_seconds);
    {
        // The other floor: one prepared statement that does nothing, there and back.
        const auto begin = SteadyClock::now();
        for (int i = 0; i < 2000; ++i) Ok(db->connection().Exec("SELECT 1"), "SELECT 1");
        figures.round_trip_ms = Ms(SteadyClock::now() - begin) / 2000;
    }
    MeasureDispatch(*db, sizes, figures);
    MeasurePages(*db, sizes, figures);
    figures.enqueue_per_s = Enqueue({db.get()}, sizes);
    std::vector<std::unique_ptr<store::Store>> more;
    std::vector<store::Store*> four{db.get()};
    for (int i = 0; i < 3; ++i) {
        more.push_back(Ok(store::OpenStore(url), "open"));
        four.push_back(more.back().get());
    }
    figures.enqueue4_per_s = Enqueue(four, sizes);
    figures.fsync_after_ms = FsyncMs(disk);
    return figures;
}

int Main(int argc, char** argv) {
    Sizes sizes;
    bool sqlite = true, postgres = true;
    std::string pg_url;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            sizes.queued /= 10;
            sizes.history /= 10;
            sizes.dispatches /= 4;
            sizes.enqueues /= 3;
        } else if (std::strcmp(argv[i], "--sqlite-only") == 0) {
            postgres = false;
        } else if (std::strcmp(argv[i], "--pg-only") == 0) {
            sqlite = false;
        } else if (std::strcmp(argv[i], "--pg-url") == 0 && i + 1 < argc) {
            pg_url = argv[++i];  // an empty database of your own server instead of a throwaway cluster
        } else {
            std::fprintf(stderr, "usage: %s [--quick] [--sqlite-only | --pg-only] [--pg-url URL]\n", argv[0]);
            return 2;
        }
    }
    std::printf("bench_queue: %d users, %d dispatchable jobs, %d faxes of history; %u CPUs\n", sizes.users,
                sizes.queued, sizes.history, std::thread::hardware_concurrency());

    Figures lite, pg;
    std::string dir = (std::filesystem::temp_directory_path() / "faxd-bench.XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) Die("mkdtemp");
    struct RemoveDir {
        std::string dir;
        ~RemoveDir() {
            std::error_code ignored;
            std::filesystem::remove_all(dir, ignored);
        }
    } remove_dir{dir};
    if (sqlite) {
        std::fprintf(stderr, "SQLite (WAL, synchronous=FULL) in %s\n", dir.c_str());
        lite = Run("sqlite:" + dir + "/faxd.db", dir, sizes);
    }
    std::unique_ptr<testing::PostgresCluster> cluster;
    if (postgres && !pg_url.empty()) {
        std::fprintf(stderr, "PostgreSQL at %s\n", pg_url.c_str());
        pg = Run(pg_url, dir, sizes);
    } else if (postgres) {
        std::string error;
        testing::PostgresCluster::Options options;
        options.durable = true;
        options.settings = {"max_wal_size=4GB", "shared_buffers=256MB"};
        cluster = testing::PostgresCluster::Start(options, &error);
        if (!cluster || !cluster->CreateDatabase("faxd", &error)) Die("PostgreSQL: " + error);
        std::fprintf(stderr, "PostgreSQL 15 (fsync on, synchronous_commit on) on port %u\n", cluster->port());
        pg = Run(cluster->Url("faxd"), cluster->dir(), sizes);
    }

    auto row = [&](const char* what, double a, double b, const char* aim, const char* format) {
        char left[32] = "-", right[32] = "-";
        if (sqlite) std::snprintf(left, sizeof left, format, a);
        if (postgres) std::snprintf(right, sizeof right, format, b);
        std::printf("%-36s %12s %12s   %s\n", what, left, right, aim);
    };
    std::printf("%-36s %12s %12s   %s\n", "", "SQLite", "PostgreSQL", "aim");
    row("reference: fdatasync p50 ms, before", lite.fsync_before_ms, pg.fsync_before_ms, "", "%.3f");
    row("reference: fdatasync p50 ms, after", lite.fsync_after_ms, pg.fsync_after_ms, "", "%.3f");
    row("reference: statement round trip ms", lite.round_trip_ms, pg.round_trip_ms, "", "%.3f");
    row("seed (s)", lite.seed_seconds, pg.seed_seconds, "", "%.1f");
    row("dispatch, mean ms/job", lite.dispatch_ms, pg.dispatch_ms, "<= 1 ms", "%.3f");
    row("dispatch, p99 ms/job", lite.dispatch_p99_ms, pg.dispatch_p99_ms, "", "%.3f");
    row("  of which DueJobs+NumbersInCall ms", lite.reads_ms, pg.reads_ms, "", "%.3f");
    row("  of which ClaimForSending ms", lite.claim_ms, pg.claim_ms, "", "%.3f");
    row("finish attempt, mean ms", lite.finish_ms, pg.finish_ms, "", "%.3f");
    row("outbox page (50, state=sent) p50 ms", lite.outbox_p50, pg.outbox_p50, "", "%.3f");
    row("outbox page p99 ms", lite.outbox_p99, pg.outbox_p99, "<= 50 ms", "%.3f");
    row("inbox page (50, state=received) p50", lite.inbox_p50, pg.inbox_p50, "", "%.3f");
    row("inbox page p99 ms", lite.inbox_p99, pg.inbox_p99, "<= 50 ms", "%.3f");
    row("enqueue/s, 1 client", lite.enqueue_per_s, pg.enqueue_per_s, ">= 2,000/s", "%.0f");
    row("enqueue/s, 4 clients", lite.enqueue4_per_s, pg.enqueue4_per_s, "", "%.0f");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return Main(argc, argv);
    } catch (const Failure& failure) {
        std::fprintf(stderr, "bench_queue: %s\n", failure.what());
        return 1;
    }
}
