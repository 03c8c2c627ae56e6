// MailboxPoller against a real Dovecot (tests/support/dovecot_server.py) on 127.0.0.1 ports chosen at run
// time: POP3, IMAP, POP3S, IMAPS and STARTTLS, with messages dropped into the users' Maildirs and the
// Maildirs looked at afterwards to see what the server really deleted. The parsers and the configuration
// checks are plain unit tests. Skipped where Dovecot is not installed.
#include "mail/mailbox_poller.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "process.hpp"

namespace faxd::mail {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPassword = "secret";

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

fs::path MakeTempDir(const std::string& prefix) {
    std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) return {};
    fs::permissions(pattern, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);  // Dovecot's users pass
    return pattern;
}

// A Dovecot run by dovecot_server.py, stopped (SIGTERM) when this goes away.
class Dovecot {
public:
    static std::optional<Dovecot> Start(const fs::path& dir, const std::vector<std::string>& users,
                                        std::vector<std::string> options = {}) {
        const fs::path out = dir / "dovecot_server.out";
        std::vector<std::string> argv{FAXD_SYSTEM_PYTHON3, FAXD_DOVECOT_SERVER, "--dir",
                                      (dir / "dovecot").string()};
        for (const auto& user : users) {
            argv.push_back("--user");
            argv.push_back(user + ":" + kPassword);
        }
        argv.insert(argv.end(), options.begin(), options.end());
        auto process = faxd::testing::ChildProcess::Spawn(argv, out);
        if (!process) return std::nullopt;
        std::optional<json> info;
        WaitUntil(
            [&] {
                std::istringstream text(faxd::testing::ReadFile(out));
                for (std::string line; std::getline(text, line);) {
                    if (line.starts_with("FAILED")) return true;
                    if (line.starts_with("{")) info = json::parse(line);
                }
                return info.has_value();
            },
            20s);
        if (!info) {
            ADD_FAILURE() << "dovecot_server.py did not start:\n" << faxd::testing::ReadFile(out);
            return std::nullopt;
        }
        return Dovecot(std::move(*process), std::move(*info));
    }

    Dovecot(Dovecot&&) = default;
    Dovecot& operator=(Dovecot&&) = default;
    ~Dovecot() {
        if (!process_) return;
        process_->Signal(SIGTERM);
        process_->Wait(15s);
    }

    std::uint16_t Port(const std::string& protocol) const { return info_.at(protocol).get<std::uint16_t>(); }
    fs::path Cert() const { return info_.at("cert").get<std::string>(); }
    fs::path Maildir(const std::string& user) const {
        return info_.at("maildir").at(user).get<std::string>();
    }

    // Drops the user's connections, as a network failure would.
    bool Kick(const std::string& user) const {
        const fs::path dir = info_.at("dir").get<std::string>();
        return faxd::testing::RunProgram(
                   {"/usr/bin/doveadm", "-c", (dir / "dovecot.conf").string(), "kick", user}, 10s,
                   dir / "doveadm.log")
                   .status == 0;
    }

    // What a local delivery agent does: Maildir/tmp, owner nobody (Dovecot's mail uid when run as root),
    // rename into Maildir/new. Dovecot orders new mail by the time in the name, so names carry strictly
    // increasing times (as dovecot_server.py's deliver() does). With sizes, the name carries the size and
    // the size with CRLF line ends (",S=...,W=..."), as Dovecot's own delivery writes it, so Dovecot need not
    // read the file to answer LIST or RFC822.SIZE. Returns the file's path in new/.
    fs::path Deliver(const std::string& user, const std::string& raw, bool with_sizes = false) {
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        last_delivery_ = std::max(last_delivery_ + 1, static_cast<long long>(micros));
        const std::string name =
            std::to_string(last_delivery_ / 1'000'000) + ".M" + std::to_string(last_delivery_ % 1'000'000) +
            "P" + std::to_string(::getpid()) + "Q" + std::to_string(++deliveries_) + ".faxd-test" +
            (with_sizes ? ",S=" + std::to_string(raw.size()) + ",W=" + std::to_string(raw.size()) : "");
        const fs::path temporary = Maildir(user) / "tmp" / name;
        {
            std::ofstream file(temporary, std::ios::binary);
            file << raw;
        }
        if (::geteuid() == 0) {
            const passwd* nobody = ::getpwnam("nobody");
            const group* nogroup = ::getgrnam("nogroup");
            EXPECT_TRUE(nobody != nullptr && nogroup != nullptr);
            if (nobody != nullptr && nogroup != nullptr) {
                EXPECT_EQ(::chown(temporary.c_str(), nobody->pw_uid, nogroup->gr_gid), 0);
            }
        }
        fs::rename(temporary, Maildir(user) / "new" / name);
        return Maildir(user) / "new" / name;
    }

    // Sets the mode of every file of the user's messages whose name contains `marker`.
    void SetMode(const std::string& user, const std::string& marker, fs::perms mode) const {
        for (const char* sub : {"new", "cur"}) {
            for (const auto& entry : fs::directory_iterator(Maildir(user) / sub)) {
                if (entry.path().filename().string().find(marker) != std::string::npos) {
                    fs::permissions(entry.path(), mode);
                }
            }
        }
    }

    // Messages the server still has (files in new/ and cur/).
    std::vector<std::string> Messages(const std::string& user) const {
        std::vector<std::pair<std::string, std::string>> files;
        for (const char* sub : {"new", "cur"}) {
            for (const auto& entry : fs::directory_iterator(Maildir(user) / sub)) {
                files.emplace_back(entry.path().filename().string(), faxd::testing::ReadFile(entry.path()));
            }
        }
        std::sort(files.begin(), files.end());
        std::vector<std::string> contents;
        for (auto& [name, content] : files) contents.push_back(std::move(content));
        return contents;
    }

private:
    Dovecot(faxd::testing::ChildProcess process, json info)
        : process_(std::move(process)), info_(std::move(info)) {}

    std::optional<faxd::testing::ChildProcess> process_;
    json info_;
    long long last_delivery_ = 0;
    int deliveries_ = 0;
};

std::string Mail(const std::string& subject, const std::string& body = "Please fax this.\r\n") {
    return "From: alice@example.com\r\nTo: 4930123456@fax.example.com\r\nSubject: " + subject +
           "\r\nMessage-ID: <" + subject + "@example.com>\r\n\r\n" + body;
}

// Collects what the poller stores; can refuse chosen messages.
struct Sink {
    std::mutex mutex;
    std::vector<std::string> stored;
    std::function<bool(const std::string&)> refuse;  // true: the store fails

    StoreMessage Callback() {
        return [this](const std::string& raw) -> base::Result<void> {
            std::lock_guard lock(mutex);
            if (refuse && refuse(raw)) return base::MakeError(base::ErrorCode::kIo, "disk full (test)");
            stored.push_back(raw);
            return {};
        };
    }
    std::vector<std::string> Stored() {
        std::lock_guard lock(mutex);
        return stored;
    }
};

// --- unit tests: no server -------------------------------------------------------------------------------

TEST(MailboxProtocolTest, FollowsFromTheStandardPorts) {
    EXPECT_EQ(ResolveMailboxProtocol(MailboxProtocol::kAuto, 110).value(), MailboxProtocol::kPop3);
    EXPECT_EQ(ResolveMailboxProtocol(MailboxProtocol::kAuto, 995).value(), MailboxProtocol::kPop3s);
    EXPECT_EQ(ResolveMailboxProtocol(MailboxProtocol::kAuto, 143).value(), MailboxProtocol::kImap);
    EXPECT_EQ(ResolveMailboxProtocol(MailboxProtocol::kAuto, 993).value(), MailboxProtocol::kImaps);
    EXPECT_EQ(ResolveMailboxProtocol(MailboxProtocol::kImaps, 10993).value(), MailboxProtocol::kImaps);
    EXPECT_EQ(ResolveMailboxProtocol(MailboxProtocol::kPop3, 143).value(), MailboxProtocol::kPop3);  // as set
    const auto unknown = ResolveMailboxProtocol(MailboxProtocol::kAuto, 2525);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_NE(unknown.error().message.find("port 2525"), std::string::npos) << unknown.error().message;
    EXPECT_FALSE(ResolveMailboxProtocol(MailboxProtocol::kAuto, 0));
    EXPECT_EQ(DefaultMailboxPort(MailboxProtocol::kImaps), 993);
    EXPECT_EQ(MailboxProtocolName(MailboxProtocol::kPop3s), "pop3s");
}

StoreMessage Discard() {
    return [](const std::string&) -> base::Result<void> { return {}; };
}

TEST(MailboxPollerConfigTest, ChecksAndSettlesTheConfiguration) {
    MailboxConfig config;
    config.name = "fax-in";
    config.host = "mail.example.com";
    config.user = "fax";
    config.protocol = MailboxProtocol::kImaps;
    config.interval = 1s;
    auto poller = MailboxPoller::Create(config, Discard());
    ASSERT_TRUE(poller) << poller.error().ToString();
    EXPECT_EQ((*poller)->config().port, 993);     // port 0: the protocol's own
    EXPECT_EQ((*poller)->config().interval, 5s);  // raised to the minimum

    config.allow_short_interval_for_tests = true;
    EXPECT_EQ(MailboxPoller::Create(config, Discard()).value()->config().interval, 1s);

    config.protocol = MailboxProtocol::kAuto;
    config.port = 2525;
    auto unclear = MailboxPoller::Create(config, Discard());
    ASSERT_FALSE(unclear);
    EXPECT_NE(unclear.error().message.find("mailbox 'fax-in': port 2525 does not tell the protocol"),
              std::string::npos)
        << unclear.error().message;

    config.port = 110;
    EXPECT_EQ(MailboxPoller::Create(config, Discard()).value()->config().protocol, MailboxProtocol::kPop3);
    auto no_host = config;
    no_host.host.clear();
    EXPECT_FALSE(MailboxPoller::Create(no_host, Discard()));
    auto no_ca = config;
    no_ca.ca_file = "/nonexistent/ca.pem";
    auto bad_ca = MailboxPoller::Create(no_ca, Discard());
    ASSERT_FALSE(bad_ca);
    EXPECT_NE(bad_ca.error().message.find("/nonexistent/ca.pem"), std::string::npos);
    EXPECT_FALSE(MailboxPoller::Create(config, nullptr));
}

TEST(MailboxParseTest, Pop3List) {
    const auto entries = ParsePop3List("1 120\r\n2 3400 extra\r\n\r\n10 5\r\n");
    ASSERT_TRUE(entries);
    ASSERT_EQ(entries->size(), 3u);
    EXPECT_EQ((*entries)[1].id, 2u);
    EXPECT_EQ((*entries)[1].size, 3400u);
    EXPECT_EQ((*entries)[2].id, 10u);
    EXPECT_TRUE(ParsePop3List("").value().empty());
    EXPECT_FALSE(ParsePop3List("1 120\r\nhello\r\n"));
    EXPECT_FALSE(ParsePop3List("1 -5\r\n"));

    const auto uidls = ParsePop3Uidl("1 000000017f3a\r\n2 whqtswO00WBw418f9t5JxYwZ\r\n");
    ASSERT_TRUE(uidls);
    EXPECT_EQ(*uidls,
              (std::map<std::uint32_t, std::string>{{1, "000000017f3a"}, {2, "whqtswO00WBw418f9t5JxYwZ"}}));
    EXPECT_FALSE(ParsePop3Uidl("1\r\n"));
}

TEST(MailboxParseTest, ImapSearchAndSizes) {
    EXPECT_EQ(ParseImapSearch("* 3 EXISTS\r\n* SEARCH 4 9 12\r\n").value(),
              (std::vector<std::uint32_t>{4, 9, 12}));
    EXPECT_TRUE(ParseImapSearch("* SEARCH\r\n").value().empty());
    EXPECT_FALSE(ParseImapSearch("* SEARCH 4 x\r\n"));

    const auto sizes = ParseImapSizes(
        "* 1 FETCH (UID 4 RFC822.SIZE 120)\r\n"
        "* 2 FETCH (RFC822.SIZE 99 UID 9 FLAGS (\\Seen))\r\n"
        "* 3 FETCH (FLAGS (\\Deleted))\r\n"  // unsolicited
        "* 5 EXPUNGE\r\n");
    ASSERT_TRUE(sizes) << sizes.error().message;
    EXPECT_EQ(*sizes, (std::map<std::uint32_t, std::uint64_t>{{4, 120}, {9, 99}}));
    EXPECT_FALSE(ParseImapSizes("* 1 FETCH (RFC822.SIZE 120)\r\n"));

    EXPECT_EQ(FormatImapUidSet({1, 2, 3, 7, 9, 10}), "1:3,7,9:10");
    EXPECT_EQ(FormatImapUidSet({5}), "5");
    EXPECT_EQ(FormatImapUidSet({}), "");
}

// A socket that accepts connections (the kernel does) and never says a word.
TEST(MailboxPollerNetworkTest, SilentServerTimesOutAndRefusedPortSaysSo) {
    const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(silent, 4), 0);
    ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);

    MailboxConfig config;
    config.host = "127.0.0.1";
    config.port = ntohs(address.sin_port);
    config.protocol = MailboxProtocol::kPop3;
    config.user = "fax";
    config.timeout = 500ms;
    auto poller = MailboxPoller::Create(config, Discard()).value();
    const auto start = std::chrono::steady_clock::now();
    const auto result = poller->PollOnce();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, base::ErrorCode::kTimeout) << result.error().message;
    EXPECT_TRUE(result.error().message.starts_with("pop3 127.0.0.1:" + std::to_string(config.port) + ": "))
        << result.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(poller->status().last_error, result.error().message);
    ::close(silent);

    config.port = faxd::testing::FreePort();  // nobody listens there
    config.protocol = MailboxProtocol::kImap;
    const auto refused = MailboxPoller::Create(config, Discard()).value()->PollOnce();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              "imap 127.0.0.1:" + std::to_string(config.port) + ": cannot connect: Connection refused");
}

// --- against Dovecot -------------------------------------------------------------------------------------

class MailboxPollerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!fs::exists("/usr/sbin/dovecot")) return;
        dir_ = MakeTempDir("faxd-poller");
        // One mailbox per test, so the tests of one process (ctest runs each in its own) never meet.
        dovecot_ = Dovecot::Start(
            dir_, {"pop3", "imap", "pop3s", "imaps", "nocafile", "starttls", "wrongpw", "storefail_pop3",
                   "storefail_imap", "big_pop3", "big_imap", "folder", "window", "startstop", "stopwait",
                   "kick_pop3", "kick_imap", "unreadable_pop3", "unreadable_imap"});
    }

    static void TearDownTestSuite() {
        dovecot_.reset();
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    void SetUp() override {
        if (!fs::exists("/usr/sbin/dovecot"))
            GTEST_SKIP() << "Dovecot is not installed (dovecot-imapd, dovecot-pop3d)";
        ASSERT_TRUE(dovecot_.has_value());
    }

    // A plain-port config without TLS, for user `user`.
    static MailboxConfig Config(MailboxProtocol protocol, const std::string& user) {
        MailboxConfig config;
        config.name = user;
        config.host = "127.0.0.1";
        config.protocol = protocol;
        config.port = dovecot_->Port(std::string(MailboxProtocolName(protocol)));
        config.user = user;
        config.password = kPassword;
        config.starttls = false;
        config.ca_file = dovecot_->Cert();
        config.timeout = 10s;
        return config;
    }

    static std::unique_ptr<MailboxPoller> Poller(const MailboxConfig& config, Sink& sink) {
        auto poller = MailboxPoller::Create(config, sink.Callback());
        EXPECT_TRUE(poller) << poller.error().ToString();
        return poller ? std::move(*poller) : nullptr;
    }

    // Delivers three messages, one with lines that need POP3 dot-stuffing, polls, and checks that they were
    // stored byte for byte in order and are gone from the server.
    void PollsThreeInOrder(MailboxProtocol protocol, const std::string& user, bool expect_tls,
                           std::function<void(MailboxConfig&)> adjust = {}) {
        const std::vector<std::string> mails{
            Mail(user + "-1", ".starts with a dot\r\n..two dots\r\n.\r\nend\r\n"), Mail(user + "-2"),
            Mail(user + "-3")};
        for (const auto& mail : mails) dovecot_->Deliver(user, mail);
        Sink sink;
        auto config = Config(protocol, user);
        if (adjust) adjust(config);
        auto poller = Poller(config, sink);
        ASSERT_TRUE(poller);
        const auto first = poller->PollOnce();
        ASSERT_TRUE(first) << first.error().message;
        EXPECT_EQ(*first, 3);
        EXPECT_EQ(sink.Stored(), mails);
        EXPECT_TRUE(dovecot_->Messages(user).empty());
        const auto second = poller->PollOnce();
        ASSERT_TRUE(second) << second.error().message;
        EXPECT_EQ(*second, 0);
        const auto status = poller->status();
        EXPECT_EQ(status.stored_total, 3u);
        EXPECT_EQ(status.last_error, "");
        EXPECT_EQ(status.left_on_server, 0u);
        EXPECT_EQ(status.encrypted, expect_tls);
        EXPECT_GT(status.last_success.time_since_epoch().count(), 0);
    }

    static inline fs::path dir_;
    static inline std::optional<Dovecot> dovecot_;
};

TEST_F(MailboxPollerTest, Pop3StoresInOrderAndDeletes) {
    PollsThreeInOrder(MailboxProtocol::kPop3, "pop3", false);
}

TEST_F(MailboxPollerTest, ImapStoresInOrderAndExpunges) {
    PollsThreeInOrder(MailboxProtocol::kImap, "imap", false);
}

TEST_F(MailboxPollerTest, Pop3sWithCaFile) { PollsThreeInOrder(MailboxProtocol::kPop3s, "pop3s", true); }

TEST_F(MailboxPollerTest, ImapsWithCaFile) { PollsThreeInOrder(MailboxProtocol::kImaps, "imaps", true); }

TEST_F(MailboxPollerTest, StarttlsWhereOfferedAndRequired) {
    // Default: STARTTLS because Dovecot offers it.
    PollsThreeInOrder(MailboxProtocol::kPop3, "starttls", true, [](MailboxConfig& c) { c.starttls = true; });
    PollsThreeInOrder(MailboxProtocol::kImap, "starttls", true,
                      [](MailboxConfig& c) { c.require_tls = true; });
}

TEST_F(MailboxPollerTest, UntrustedCertificateIsAClearErrorAndDeletesNothing) {
    dovecot_->Deliver("nocafile", Mail("nocafile"));
    for (const auto protocol : {MailboxProtocol::kImaps, MailboxProtocol::kPop3}) {
        Sink sink;
        auto config = Config(protocol, "nocafile");
        config.ca_file.clear();  // the system's CAs do not know the self-signed certificate
        config.require_tls = true;
        auto poller = Poller(config, sink);
        const auto result = poller->PollOnce();
        ASSERT_FALSE(result);
        const std::string place =
            std::string(MailboxProtocolName(protocol)) + " 127.0.0.1:" + std::to_string(config.port);
        EXPECT_TRUE(result.error().message.starts_with(place + ": TLS certificate not accepted: "))
            << result.error().message;
        EXPECT_TRUE(sink.Stored().empty());
    }
    EXPECT_EQ(dovecot_->Messages("nocafile").size(), 1u);
}

TEST_F(MailboxPollerTest, WrongPasswordIsAClearErrorAndDeletesNothing) {
    dovecot_->Deliver("wrongpw", Mail("wrongpw"));
    for (const auto protocol : {MailboxProtocol::kPop3, MailboxProtocol::kImap}) {
        Sink sink;
        auto config = Config(protocol, "wrongpw");
        config.password = "not the password";
        auto poller = Poller(config, sink);
        const auto result = poller->PollOnce();
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().code, base::ErrorCode::kInvalidArgument);
        const std::string place =
            std::string(MailboxProtocolName(protocol)) + " 127.0.0.1:" + std::to_string(config.port);
        const std::string said = protocol == MailboxProtocol::kPop3
                                     ? "server said \"-ERR [AUTH] Authentication failed.\""
                                     : "server said \"NO [AUTHENTICATIONFAILED] Authentication failed.\"";
        EXPECT_EQ(result.error().message, place + ": login failed: " + said);
        EXPECT_EQ(poller->status().last_error, result.error().message);
        EXPECT_EQ(poller->status().last_success.time_since_epoch().count(), 0);
        EXPECT_TRUE(sink.Stored().empty());
    }
    EXPECT_EQ(dovecot_->Messages("wrongpw").size(), 1u);
}

TEST_F(MailboxPollerTest, MissingFolderIsAClearError) {
    dovecot_->Deliver("folder", Mail("folder"));
    Sink sink;
    auto config = Config(MailboxProtocol::kImap, "folder");
    config.folder = "Fax Inbox";
    const auto result = Poller(config, sink)->PollOnce();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, base::ErrorCode::kNotFound);
    EXPECT_TRUE(result.error().message.starts_with("imap 127.0.0.1:" + std::to_string(config.port) +
                                                   ": cannot open folder \"Fax Inbox\": server said \"NO "))
        << result.error().message;
    EXPECT_EQ(dovecot_->Messages("folder").size(), 1u);
}

// Message 2 cannot be stored: 1 and 3 are stored and deleted, 2 stays and comes with the next poll.
void StoreFailureLeavesTheMessage(Dovecot& dovecot, MailboxConfig config) {
    const std::string user = config.user;
    const std::vector<std::string> mails{Mail(user + "-1"), Mail(user + "-2"), Mail(user + "-3")};
    for (const auto& mail : mails) dovecot.Deliver(user, mail);
    Sink sink;
    sink.refuse = [&](const std::string& raw) { return raw == mails[1]; };
    auto poller = MailboxPoller::Create(config, sink.Callback()).value();
    const auto first = poller->PollOnce();
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(*first, 2);
    EXPECT_EQ(sink.Stored(), (std::vector<std::string>{mails[0], mails[2]}));
    EXPECT_EQ(dovecot.Messages(user), (std::vector<std::string>{mails[1]}));
    auto status = poller->status();
    EXPECT_EQ(status.left_on_server, 1u);
    EXPECT_NE(status.last_error.find("not stored (io: disk full (test)); left on the server"),
              std::string::npos)
        << status.last_error;

    sink.refuse = nullptr;
    const auto second = poller->PollOnce();
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(*second, 1);
    EXPECT_EQ(sink.Stored(), (std::vector<std::string>{mails[0], mails[2], mails[1]}));
    EXPECT_TRUE(dovecot.Messages(user).empty());
    status = poller->status();
    EXPECT_EQ(status.left_on_server, 0u);
    EXPECT_EQ(status.last_error, "");
    EXPECT_EQ(status.stored_total, 3u);
}

TEST_F(MailboxPollerTest, Pop3StoreFailureLeavesTheMessage) {
    StoreFailureLeavesTheMessage(*dovecot_, Config(MailboxProtocol::kPop3, "storefail_pop3"));
}

TEST_F(MailboxPollerTest, ImapStoreFailureLeavesTheMessage) {
    StoreFailureLeavesTheMessage(*dovecot_, Config(MailboxProtocol::kImap, "storefail_imap"));
}

// A message over max_message_bytes is neither fetched nor deleted, and says so at every poll.
void OversizedMessageStays(Dovecot& dovecot, MailboxConfig config) {
    const std::string user = config.user;
    const std::string big = Mail(user + "-big", std::string(5000, 'x') + "\r\n");
    const std::vector<std::string> mails{Mail(user + "-1"), big, Mail(user + "-3")};
    for (const auto& mail : mails) dovecot.Deliver(user, mail);
    config.max_message_bytes = 1000;
    Sink sink;
    auto poller = MailboxPoller::Create(config, sink.Callback()).value();
    for (int poll = 0; poll < 2; ++poll) {
        const auto result = poller->PollOnce();
        ASSERT_TRUE(result) << result.error().message;
        EXPECT_EQ(*result, poll == 0 ? 2 : 0);
        EXPECT_EQ(sink.Stored(), (std::vector<std::string>{mails[0], mails[2]}));
        EXPECT_EQ(dovecot.Messages(user), (std::vector<std::string>{big}));
        const auto status = poller->status();
        EXPECT_EQ(status.left_on_server, 1u);
        EXPECT_NE(status.last_error.find("has " + std::to_string(big.size()) +
                                         " bytes, over the limit of 1000; left on the server"),
                  std::string::npos)
            << status.last_error;
    }
}

TEST_F(MailboxPollerTest, Pop3OversizedMessageStays) {
    OversizedMessageStays(*dovecot_, Config(MailboxProtocol::kPop3, "big_pop3"));
}

TEST_F(MailboxPollerTest, ImapOversizedMessageStays) {
    OversizedMessageStays(*dovecot_, Config(MailboxProtocol::kImap, "big_imap"));
}

// The connection drops after message 1 was stored and before it was deleted. Nothing may be deleted on a
// second connection (a POP3 message number there may name another message): the poll ends, all three
// stay, and the next poll stores them all - message 1 twice, which the gateway's content hash catches.
void LostConnectionDeletesNothingElsewhere(Dovecot& dovecot, MailboxConfig config) {
    const std::string user = config.user;
    const std::vector<std::string> mails{Mail(user + "-1"), Mail(user + "-2"), Mail(user + "-3")};
    for (const auto& mail : mails) dovecot.Deliver(user, mail);
    Sink sink;
    bool kicked = false;
    sink.refuse = [&](const std::string&) {
        if (!kicked) {
            kicked = true;
            EXPECT_TRUE(dovecot.Kick(user));
            std::this_thread::sleep_for(200ms);  // the server process is gone
        }
        return false;
    };
    auto poller = MailboxPoller::Create(config, sink.Callback()).value();
    const auto first = poller->PollOnce();
    ASSERT_FALSE(first);
    EXPECT_TRUE(first.error().message.starts_with(std::string(MailboxProtocolName(config.protocol)) +
                                                  " 127.0.0.1:" + std::to_string(config.port) + ": "))
        << first.error().message;
    EXPECT_EQ(sink.Stored(), (std::vector<std::string>{mails[0]}));
    EXPECT_EQ(dovecot.Messages(user), mails);
    EXPECT_EQ(poller->status().stored_total, 1u);

    const auto second = poller->PollOnce();
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(*second, 3);
    EXPECT_EQ(sink.Stored(), (std::vector<std::string>{mails[0], mails[0], mails[1], mails[2]}));
    EXPECT_TRUE(dovecot.Messages(user).empty());
}

TEST_F(MailboxPollerTest, Pop3LostConnectionDeletesNothingElsewhere) {
    LostConnectionDeletesNothingElsewhere(*dovecot_, Config(MailboxProtocol::kPop3, "kick_pop3"));
}

TEST_F(MailboxPollerTest, ImapLostConnectionDeletesNothingElsewhere) {
    LostConnectionDeletesNothingElsewhere(*dovecot_, Config(MailboxProtocol::kImap, "kick_imap"));
}

// Dovecot cannot read message 2 (mode 000; the sizes are in its name): the fetch fails, which ends the
// poll (libcurl closes the connection after a failed command). The next poll takes message 3 before
// trying 2 again, so one bad message holds up nothing; once readable, 2 comes too.
// `names`: what the poller calls message 2 in the first and the second poll (POP3 numbers count the
// messages of the session, so message 1 being gone makes it "message 1").
void UnreadableMessageGoesLast(Dovecot& dovecot, MailboxConfig config,
                               const std::vector<std::string>& names) {
    const std::string user = config.user;
    const std::vector<std::string> mails{Mail(user + "-1"), Mail(user + "-2"), Mail(user + "-3")};
    dovecot.Deliver(user, mails[0], true);
    const std::string marker = dovecot.Deliver(user, mails[1], true).filename().string().substr(0, 40);
    dovecot.Deliver(user, mails[2], true);
    dovecot.SetMode(user, marker, fs::perms::none);
    Sink sink;
    auto poller = MailboxPoller::Create(config, sink.Callback()).value();
    for (int poll = 0; poll < 2; ++poll) {
        const auto failed = poller->PollOnce();
        ASSERT_FALSE(failed);
        EXPECT_NE(failed.error().message.find("(" + names[poll] +
                                              " is tried again after the others in the next poll)"),
                  std::string::npos)
            << failed.error().message;
        const std::vector<std::string> expected =
            poll == 0 ? std::vector<std::string>{mails[0]} : std::vector<std::string>{mails[0], mails[2]};
        EXPECT_EQ(sink.Stored(), expected);
    }
    dovecot.SetMode(user, marker, fs::perms::owner_read | fs::perms::owner_write);
    const auto last = poller->PollOnce();
    ASSERT_TRUE(last) << last.error().message;
    EXPECT_EQ(*last, 1);
    EXPECT_EQ(sink.Stored(), (std::vector<std::string>{mails[0], mails[2], mails[1]}));
    EXPECT_TRUE(dovecot.Messages(user).empty());
}

TEST_F(MailboxPollerTest, Pop3UnreadableMessageGoesLast) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: Dovecot's mail user must be another user than ours";
    UnreadableMessageGoesLast(*dovecot_, Config(MailboxProtocol::kPop3, "unreadable_pop3"),
                              {"message 2", "message 1"});
}

TEST_F(MailboxPollerTest, ImapUnreadableMessageGoesLast) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: Dovecot's mail user must be another user than ours";
    UnreadableMessageGoesLast(*dovecot_, Config(MailboxProtocol::kImap, "unreadable_imap"),
                              {"message UID 2", "message UID 2"});
}

TEST_F(MailboxPollerTest, AtMostMaxMessagesPerPoll) {
    const std::vector<std::string> mails{Mail("window-1"), Mail("window-2"), Mail("window-3")};
    for (const auto& mail : mails) dovecot_->Deliver("window", mail);
    for (const auto protocol : {MailboxProtocol::kImap, MailboxProtocol::kPop3}) {
        Sink sink;
        auto config = Config(protocol, "window");
        config.max_messages_per_poll = 2;
        auto poller = Poller(config, sink);
        if (protocol == MailboxProtocol::kImap) {
            EXPECT_EQ(poller->PollOnce().value(), 2);
            EXPECT_EQ(sink.Stored(), (std::vector<std::string>{mails[0], mails[1]}));
        } else {
            EXPECT_EQ(poller->PollOnce().value(), 1);  // the rest, over POP3 this time
            EXPECT_EQ(sink.Stored(), (std::vector<std::string>{mails[2]}));
        }
    }
    EXPECT_TRUE(dovecot_->Messages("window").empty());
}

TEST_F(MailboxPollerTest, StartPollsAtTheIntervalAndStopIsPrompt) {
    Sink sink;
    auto config = Config(MailboxProtocol::kImap, "startstop");
    config.allow_short_interval_for_tests = true;
    config.interval = 200ms;
    auto poller = Poller(config, sink);
    dovecot_->Deliver("startstop", Mail("startstop-1"));
    poller->Start();
    ASSERT_TRUE(WaitUntil([&] { return sink.Stored().size() == 1; }, 10s));
    dovecot_->Deliver("startstop", Mail("startstop-2"));
    ASSERT_TRUE(WaitUntil([&] { return sink.Stored().size() == 2; }, 10s));
    poller->Stop();
    EXPECT_EQ(poller->status().stored_total, 2u);
    EXPECT_TRUE(dovecot_->Messages("startstop").empty());

    // Stopped: nothing is fetched any more; started again: it is.
    dovecot_->Deliver("startstop", Mail("startstop-3"));
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(sink.Stored().size(), 2u);
    poller->Start();
    ASSERT_TRUE(WaitUntil([&] { return sink.Stored().size() == 3; }, 10s));
    poller->Stop();
}

TEST_F(MailboxPollerTest, StopInterruptsTheWait) {
    Sink sink;
    auto config = Config(MailboxProtocol::kPop3, "stopwait");
    config.interval = std::chrono::hours(1);
    auto poller = Poller(config, sink);
    poller->Start();
    ASSERT_TRUE(WaitUntil([&] { return poller->status().last_poll.time_since_epoch().count() != 0; }, 10s));
    const auto start = std::chrono::steady_clock::now();
    poller->Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_EQ(poller->status().last_error, "");
}

// require_tls against a server without TLS: no login at all.
TEST(MailboxPollerNoTlsTest, RequireTlsWithoutStarttlsRefusesToLogIn) {
    if (!fs::exists("/usr/sbin/dovecot")) GTEST_SKIP() << "Dovecot is not installed";
    const fs::path dir = MakeTempDir("faxd-poller-notls");
    {
        auto dovecot = Dovecot::Start(dir, {"fax"}, {"--no-tls"});
        ASSERT_TRUE(dovecot);
        dovecot->Deliver("fax", Mail("notls"));
        for (const auto protocol : {MailboxProtocol::kPop3, MailboxProtocol::kImap}) {
            MailboxConfig config;
            config.host = "127.0.0.1";
            config.protocol = protocol;
            config.port = dovecot->Port(std::string(MailboxProtocolName(protocol)));
            config.user = "fax";
            config.password = kPassword;
            config.require_tls = true;
            Sink sink;
            const auto result = MailboxPoller::Create(config, sink.Callback()).value()->PollOnce();
            ASSERT_FALSE(result);
            EXPECT_EQ(result.error().code, base::ErrorCode::kUnsupported);
            EXPECT_EQ(result.error().message, std::string(MailboxProtocolName(protocol)) +
                                                  " 127.0.0.1:" + std::to_string(config.port) +
                                                  ": TLS is required but the server does not offer STARTTLS");
            // Without require_tls (STARTTLS where offered) it works, unencrypted.
            config.require_tls = false;
            auto poller = MailboxPoller::Create(config, sink.Callback()).value();
            const auto plain = poller->PollOnce();
            ASSERT_TRUE(plain) << plain.error().message;
            EXPECT_FALSE(poller->status().encrypted);
        }
        EXPECT_TRUE(dovecot->Messages("fax").empty());
    }
    fs::remove_all(dir);
}

}  // namespace
}  // namespace faxd::mail
