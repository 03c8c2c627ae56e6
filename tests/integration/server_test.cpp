// faxd as a server, end to end, with real processes on 127.0.0.1: jobs submitted to one node's store cross
// over SIP/T.38 to another node, which files them for the owner of the called number. Then the same with
// kill -9 at moments of sending and receiving, and with two sending nodes sharing one PostgreSQL queue.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "faxd_node.hpp"
#include "postgres_cluster.hpp"
#include "store/spool.hpp"
#include "store/store.hpp"

namespace faxd::testing {
namespace {

using namespace std::chrono_literals;

// A node that sends: every number goes to `receiver`; retries come quickly so the tests stay short.
// Nodes sharing a PostgreSQL queue share the spool too (docs/store.md): `spool` names it.
std::string SenderConfig(std::uint16_t receiver_port, const std::string& store_url = "",
                         const std::string& node = "", int max_outgoing = 20, const std::string& spool = "") {
    std::string config =
        "[queue]\npoll_interval_ms = 200\nlease = 5\nmax_outgoing = " + std::to_string(max_outgoing) + "\n";
    if (!spool.empty()) config += "[spool]\ndirectory = \"" + spool + "\"\n";
    config += "[queue.retry]\ncall_dropped = { delay = 2, max = 5 }\nunavailable = { delay = 2, max = 20 }\n";
    config += "no_answer = { delay = 2, max = 20 }\ninterrupted = { delay = 1, max = 5 }\n";
    config += "[render]\nresolution = \"standard\"\n";
    if (!store_url.empty()) config += "[store]\nurl = \"" + store_url + "\"\nnode = \"" + node + "\"\n";
    config += "[[routes]]\nname = \"to-b\"\nprefix = \"\"\ngateways = [ { host = \"127.0.0.1\", port = " +
              std::to_string(receiver_port) + " } ]\n";
    return config;
}

// The receiving node: alice owns 200, the range 21000-21999 belongs to her too, and calls from the trunk
// 127.0.0.1 to numbers nobody owns are hers as well (a line without DID).
const char* kReceiverConfig =
    "[inbound]\nranges = [ { first = \"21000\", last = \"21999\", user = \"alice\" } ]\n"
    "lines = [ { line = \"127.0.0.1\", user = \"alice\" } ]\n"
    "[[users]]\nlogin = \"alice\"\nnumbers = [\"200\"]\n"
    "[[entities]]\nname = \"Sales\"\nnumber = \"300\"\nmembers = [ { user = \"alice\", receive = true } ]\n"
    "[[groups]]\nname = \"Support\"\nnumbers = [\"400\"]\nmembers = [\"alice\"]\n";

class ServerTest : public ::testing::Test {
protected:
    static std::unique_ptr<store::Store> OpenStore(const std::string& url) {
        auto store = store::OpenStore(url, store::StoreOptions{.node = "test"});
        EXPECT_TRUE(store) << store.error().ToString();
        return store ? std::move(*store) : nullptr;
    }
    static std::string SqliteUrl(const FaxdNode& node) {
        return "sqlite:" + (node.spool / "faxd.db").string();
    }

    // Submits `document` to `numbers` through the node's store and spool, as the REST API will.
    std::vector<core::Job> Submit(store::Store& store, const std::filesystem::path& spool_dir,
                                  const std::vector<std::string>& numbers,
                                  const std::filesystem::path& document) {
        auto spool = store::Spool::Open(spool_dir / "documents");
        EXPECT_TRUE(spool);
        auto name = spool->PutFile(document, "tif");
        EXPECT_TRUE(name);
        auto directory = store.Load();
        core::NewSubmission submission;
        for (const auto& user : directory->users) {
            if (user.login == "admin") submission.owner = user.id;
        }
        submission.documents = {*name};
        for (const auto& number : numbers) submission.recipients.push_back({number, ""});
        auto result = store.Submit(
            submission, std::chrono::time_point_cast<base::Duration>(std::chrono::system_clock::now()));
        EXPECT_TRUE(result) << result.error().ToString();
        return result ? result->jobs : std::vector<core::Job>{};
    }

    // Waits until every job is final; returns them.
    static std::vector<core::Job> WaitFinal(store::Store& store, const std::vector<core::Job>& jobs,
                                            std::chrono::seconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::vector<core::Job> now;
        do {
            now.clear();
            for (const auto& job : jobs) now.push_back(*store.GetJob(job.id));
            if (std::all_of(now.begin(), now.end(),
                            [](const core::Job& j) { return core::IsFinal(j.state); }))
                break;
            std::this_thread::sleep_for(250ms);
        } while (std::chrono::steady_clock::now() < deadline);
        return now;
    }

    static std::vector<core::InboundFax> Inbox(store::Store& store, core::UserId user) {
        store::InboundFilter filter;
        filter.recipient = user;
        auto page = store.ListInbound(filter, std::nullopt, 100);
        EXPECT_TRUE(page) << page.error().ToString();
        return page ? page->items : std::vector<core::InboundFax>{};
    }
    static core::UserId UserId(store::Store& store, const std::string& login) {
        const auto directory = store.Load();
        for (const auto& user : directory->users) {
            if (user.login == login) return user.id;
        }
        ADD_FAILURE() << "no user " << login;
        return 0;
    }

    // kill -9, then start it again with the same configuration (and so the same port).
    static void KillAndRestart(FaxdNode& node) {
        node.process->Signal(SIGKILL);
        node.process->Wait(5s);
        const auto old_log = node.log;
        node.log = node.dir / ("faxd." + std::to_string(++restarts_) + ".log");
        node.process = ChildProcess::Spawn({FAXD_BINARY, "--config", node.config.string()}, node.log);
        ASSERT_TRUE(node.process);
        EXPECT_TRUE(WaitForText(node.log, "receiving faxes into", 10s)) << ReadFile(node.log);
    }

    static inline int restarts_ = 0;
    TempDir dir_{"faxd_server"};
};

TEST_F(ServerTest, AJobCrossesToTheOwnerOfTheCalledNumber) {
    auto b = StartFaxd(dir_, "b", kReceiverConfig);
    auto a = StartFaxd(dir_, "a", SenderConfig(b.port));
    auto a_store = OpenStore(SqliteUrl(a));
    // A broadcast: to alice's own number, her entity's, her group's, and a number nobody owns on her trunk.
    const auto jobs = Submit(*a_store, a.spool, {"200", "555", "300", "400"}, ShortDocument(dir_, 2));
    ASSERT_EQ(jobs.size(), 4u);
    const auto done = WaitFinal(*a_store, jobs, 120s);
    for (const auto& job : done) {
        ASSERT_EQ(job.state, core::JobState::kSent) << job.last_reason << "\n" << ReadFile(a.log);
        EXPECT_EQ(job.pages_confirmed, 2);
        EXPECT_EQ(job.document, done[0].document);  // rendered once for both
    }
    auto attempts = a_store->Attempts(jobs[0].id);
    ASSERT_EQ(attempts->size(), 1u);
    EXPECT_TRUE((*attempts)[0].used_t38);

    auto b_store = OpenStore(SqliteUrl(b));
    auto inbox = Inbox(*b_store, UserId(*b_store, "alice"));
    ASSERT_EQ(inbox.size(), 4u) << ReadFile(b.log);
    std::sort(inbox.begin(), inbox.end(), [](const auto& x, const auto& y) { return x.dnis < y.dnis; });
    EXPECT_EQ(inbox[0].dnis, "200");
    EXPECT_EQ(inbox[0].destination->matched_by, "number 200");
    EXPECT_EQ(inbox[0].destination->kind, core::OwnerKind::kUser);
    EXPECT_EQ(inbox[1].dnis, "300");
    EXPECT_EQ(inbox[1].destination->kind, core::OwnerKind::kEntity);
    EXPECT_EQ(inbox[2].dnis, "400");
    EXPECT_EQ(inbox[2].destination->kind, core::OwnerKind::kGroup);
    EXPECT_EQ(inbox[3].dnis, "555");
    EXPECT_EQ(inbox[3].destination->matched_by, "line 127.0.0.1");
    for (const auto& fax : inbox) {
        EXPECT_EQ(fax.state, core::InboundState::kReceived);
        EXPECT_EQ(fax.pages, 2);
        EXPECT_EQ(fax.reference.year, jobs[0].reference.year);
        auto spool = store::Spool::Open(b.spool / "documents");
        EXPECT_TRUE(std::filesystem::exists(*spool->PathOf(fax.document)));
    }
    // Nobody else got them.
    EXPECT_TRUE(Inbox(*b_store, UserId(*b_store, "admin")).empty());
}

// Cancelling a job mid-fax (here through the store, as another node or the API would) hangs the call up.
TEST_F(ServerTest, CancellingAJobHangsUpItsCall) {
    auto b = StartFaxd(dir_, "b", kReceiverConfig);
    auto a = StartFaxd(dir_, "a", SenderConfig(b.port));
    auto a_store = OpenStore(SqliteUrl(a));
    const auto jobs = Submit(*a_store, a.spool, {"200"}, ShortDocument(dir_, 6));
    ASSERT_TRUE(WaitForText(b.log, "page 1 of", 120s)) << ReadFile(b.log);
    auto cancelled =
        a_store->MoveJob(jobs[0].id, core::JobState::kSending, core::JobState::kCancelled, "test");
    ASSERT_TRUE(cancelled && *cancelled);
    ASSERT_TRUE(WaitForText(a.log, "cancelled: hanging up", 10s)) << ReadFile(a.log);
    ASSERT_TRUE(WaitForText(b.log, "call over", 30s)) << ReadFile(b.log);
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(a_store->GetJob(jobs[0].id)->state, core::JobState::kCancelled);
    auto b_store = OpenStore(SqliteUrl(b));
    const auto inbox = Inbox(*b_store, UserId(*b_store, "alice"));
    ASSERT_EQ(inbox.size(), 1u);
    EXPECT_LT(inbox[0].pages, 6);
    EXPECT_NE(inbox[0].state, core::InboundState::kReceived);
}

// kill -9 of the sender mid-fax: the restarted node records the attempt as interrupted and sends the rest,
// starting after the pages the receiver already confirmed.
TEST_F(ServerTest, SenderKilledMidFaxResumesWithoutResendingConfirmedPages) {
    auto b = StartFaxd(dir_, "b", kReceiverConfig);
    auto a = StartFaxd(dir_, "a", SenderConfig(b.port));
    auto a_store = OpenStore(SqliteUrl(a));
    const auto jobs = Submit(*a_store, a.spool, {"200"}, ShortDocument(dir_, 5));
    ASSERT_TRUE(WaitForText(b.log, "page 2 of", 120s)) << ReadFile(b.log);
    // The receiver counts page 2 when the post-page command arrives; its confirmation (MCF) reaches the
    // sender about 1.2 s later, after a second of V.21 preamble. Kill the sender after that, before page 3
    // ends.
    std::this_thread::sleep_for(2500ms);
    KillAndRestart(a);
    const auto done = WaitFinal(*a_store, jobs, 180s);
    ASSERT_EQ(done[0].state, core::JobState::kSent) << done[0].last_reason << "\n" << ReadFile(a.log);
    EXPECT_EQ(done[0].pages_confirmed, 5);
    auto attempts = *a_store->Attempts(jobs[0].id);
    ASSERT_GE(attempts.size(), 2u);
    EXPECT_EQ(attempts[0].failure, core::FailureClass::kInterrupted);
    EXPECT_GE(attempts[0].pages_confirmed, 2) << ReadFile(a.dir / "faxd.log") << ReadFile(b.log);

    // The receiver kept what came before the break (partial) and then the rest: five pages in all.
    auto b_store = OpenStore(SqliteUrl(b));
    const auto inbox = Inbox(*b_store, UserId(*b_store, "alice"));
    int pages = 0;
    for (const auto& fax : inbox) {
        EXPECT_NE(fax.state, core::InboundState::kReceiving);
        pages += fax.pages;
    }
    EXPECT_EQ(pages, 5) << ReadFile(b.log);
}

// kill -9 of the receiver mid-fax: after its restart the interrupted reception is filed with the pages that
// reached the disk, the sender retries, and the rest arrives.
TEST_F(ServerTest, ReceiverKilledMidFaxKeepsItsPagesAndGetsTheRest) {
    auto b = StartFaxd(dir_, "b", kReceiverConfig);
    auto a = StartFaxd(dir_, "a", SenderConfig(b.port));
    auto a_store = OpenStore(SqliteUrl(a));
    const auto jobs = Submit(*a_store, a.spool, {"200"}, ShortDocument(dir_, 5));
    ASSERT_TRUE(WaitForText(b.log, "page 2 of", 120s)) << ReadFile(b.log);
    KillAndRestart(b);
    const auto done = WaitFinal(*a_store, jobs, 180s);
    ASSERT_EQ(done[0].state, core::JobState::kSent) << done[0].last_reason << "\n" << ReadFile(a.log);

    auto b_store = OpenStore(SqliteUrl(b));
    const auto inbox = Inbox(*b_store, UserId(*b_store, "alice"));
    ASSERT_GE(inbox.size(), 2u);
    bool partial_kept = false;
    for (const auto& fax : inbox) {
        EXPECT_NE(fax.state, core::InboundState::kReceiving);
        if (fax.state == core::InboundState::kPartial && fax.pages >= 2) {
            partial_kept = true;
            auto spool = store::Spool::Open(b.spool / "documents");
            auto pages = ReadTiffPages(*spool->PathOf(fax.document));
            ASSERT_TRUE(pages);
            EXPECT_EQ(static_cast<int>(pages->size()), fax.pages);
        }
    }
    std::string seen;
    for (const auto& fax : inbox) {
        seen +=
            std::string(store::InboundStateName(fax.state)) + " " + std::to_string(fax.pages) + " pages; ";
    }
    EXPECT_TRUE(partial_kept) << "the pages received before the crash were not kept: " << seen << "\n"
                              << ReadFile(b.dir / "faxd.log") << ReadFile(b.log);
    EXPECT_EQ(inbox.front().state, core::InboundState::kReceived);  // newest first: the completed retry
}

// Two sending nodes on one PostgreSQL: every job goes out exactly once, and when one node dies the other
// takes over its calls after the lease.
TEST_F(ServerTest, TwoNodesShareOnePostgresQueue) {
    if (!PostgresCluster::Available()) GTEST_SKIP() << "PostgreSQL 15 server binaries are not installed";
    std::string error;
    auto cluster = PostgresCluster::Start({}, &error);
    ASSERT_TRUE(cluster) << error;
    ASSERT_TRUE(cluster->CreateDatabase("faxd", &error)) << error;
    const std::string url = cluster->Url("faxd");

    auto b = StartFaxd(dir_, "b", kReceiverConfig);
    auto store = OpenStore(url);  // creates the schema and the administrator's row below
    core::User admin;
    admin.login = "admin";
    ASSERT_TRUE(store->AddUser(admin));
    // Three lines each: six jobs need both nodes.
    const auto shared_spool = (dir_ / "shared-spool").string();
    auto a1 = StartFaxd(dir_, "a1", SenderConfig(b.port, url, "a1", 3, shared_spool));
    auto a2 = StartFaxd(dir_, "a2", SenderConfig(b.port, url, "a2", 3, shared_spool));

    std::vector<std::string> numbers;
    for (int n = 1; n <= 6; ++n) numbers.push_back("2100" + std::to_string(n));
    const auto jobs = Submit(*store, shared_spool, numbers, ShortDocument(dir_, 2));
    ASSERT_EQ(jobs.size(), 6u);
    // Wait until both nodes have calls up, then kill one of them.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    bool both = false;
    while (!both && std::chrono::steady_clock::now() < deadline) {
        both = ReadFile(a1.log).find("started") != std::string::npos &&
               ReadFile(a2.log).find("started") != std::string::npos;
        if (!both) std::this_thread::sleep_for(200ms);
    }
    EXPECT_TRUE(both) << "both nodes should take jobs:\n" << ReadFile(a1.log) << ReadFile(a2.log);
    a1.process->Signal(SIGKILL);
    a1.process->Wait(5s);

    const auto done = WaitFinal(*store, jobs, 240s);
    for (const auto& job : done) {
        EXPECT_EQ(job.state, core::JobState::kSent) << job.number << ": " << job.last_reason;
        EXPECT_EQ(job.pages_confirmed, 2) << job.number;
    }
    // The receiver got each number's fax completed exactly once (an interrupted call may add a partial).
    auto b_store = OpenStore(SqliteUrl(b));
    std::map<std::string, int> complete;
    for (const auto& fax : Inbox(*b_store, UserId(*b_store, "alice"))) {
        if (fax.state == core::InboundState::kReceived) ++complete[fax.dnis];
    }
    EXPECT_EQ(complete.size(), 6u);
    for (const auto& [number, count] : complete)
        EXPECT_EQ(count, 1) << number << " arrived " << count << " times";
}

}  // namespace
}  // namespace faxd::testing
