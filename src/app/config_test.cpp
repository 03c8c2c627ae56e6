#include "app/config.hpp"

#include <gtest/gtest.h>

namespace faxd::app {
namespace {

TEST(ConfigTest, DefaultTextGivesTheBuiltInDefaults) {
    auto config = ParseConfig(DefaultConfigText(), "defaults");
    ASSERT_TRUE(config) << config.error().ToString();
    EXPECT_EQ(config->sip.port, 5060);
    EXPECT_EQ(config->sip.listen_address, "127.0.0.1");
    EXPECT_EQ(config->sip.t38.redundancy, 3);
    EXPECT_EQ(config->sip.inbound_t38, sip::T38Switch::kAfterAnswer);
    EXPECT_EQ(config->sip.fax.local_ident, "faxd");
    EXPECT_EQ(config->sip.fax.compressions, t30::kAllCompressions);
    EXPECT_EQ(config->spool_dir, "var/spool");
    // The test line: 999 goes back to this faxd, and the administrator owns it.
    ASSERT_EQ(config->routes.size(), 1u);
    EXPECT_EQ(config->routes[0].prefix, "999");
    EXPECT_EQ(config->routes[0].gateways.at(0).port, config->sip.port);
    ASSERT_EQ(config->users.size(), 1u);
    EXPECT_EQ(config->users[0].login, "admin");
    EXPECT_EQ(config->users[0].numbers, std::vector<std::string>{"999"});
    EXPECT_TRUE(config->http.enabled);
    EXPECT_EQ(config->http.port, 8080);
    EXPECT_EQ(config->http.admin_token_file, "var/admin.token");
}

TEST(ConfigTest, HttpSectionIsChecked) {
    EXPECT_FALSE(ParseConfig("[http]\nport = 70000\n", "t"));
    EXPECT_FALSE(ParseConfig("[http]\ntls_certificate = \"a.pem\"\n", "t"));
    auto config = ParseConfig("[http]\nenabled = false\nmax_upload_mb = 8\n", "t");
    ASSERT_TRUE(config);
    EXPECT_FALSE(config->http.enabled);
    EXPECT_EQ(config->http.max_upload_mb, 8);
}

TEST(ConfigTest, ReadsRoutesAndOverrides) {
    auto config = ParseConfig(R"(
[sip]
port = 5070
inbound_t38 = "never"
[fax]
max_modem = "v29"
compressions = ["t4-1d"]
[[routes]]
name = "pbx"
prefix = "49"
username = "fax"
password = "secret"
gateways = [ { host = "10.0.0.1" }, { host = "10.0.0.2", port = 5080, transport = "tcp" } ]
)",
                              "test.toml");
    ASSERT_TRUE(config) << config.error().ToString();
    EXPECT_EQ(config->sip.port, 5070);
    EXPECT_EQ(config->sip.inbound_t38, sip::T38Switch::kNever);
    EXPECT_EQ(config->sip.fax.modems, t30::kV27ter | t30::kV29);
    EXPECT_EQ(config->sip.fax.compressions, t30::kT4OneD);
    ASSERT_EQ(config->routes.size(), 1u);
    EXPECT_EQ(config->routes[0].gateways.size(), 2u);
    EXPECT_EQ(config->routes[0].gateways[1].transport, "tcp");
    ASSERT_TRUE(config->routes[0].credentials);
    EXPECT_EQ(config->routes[0].credentials->username, "fax");
}

TEST(ConfigTest, ServerSections) {
    auto config = ParseConfig(R"(
[store]
url = "postgresql://faxd@127.0.0.1:5432/fax"
node = "node-b"
[queue]
channels = 8
max_outgoing = 6
reserved_for_incoming = 1
economy_start = "22:00"
economy_end = "06:00"
max_tries = 5
[queue.retry]
busy = { delay = 60, max = 2 }
[inbound]
default_user = "admin"
ranges = [ { first = "11001", last = "11999", entity = "Sales" } ]
lines = [ { line = "trunk-b", group = "Support" } ]
[[entities]]
name = "Sales"
number = "300"
members = [ { user = "alice", send = true, receive = false } ]
[[groups]]
name = "Support"
numbers = ["400"]
members = ["alice", "bob"]
[[users]]
login = "alice"
numbers = ["200", "201"]
attachment_format = "tiff"
permission = 10
)",
                              "server.toml");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->store_url, "postgresql://faxd@127.0.0.1:5432/fax");
    EXPECT_EQ(config->queue.node, "node-b");
    EXPECT_EQ(config->queue.lines.channels, 8);
    ASSERT_TRUE(config->queue.lines.economy);
    EXPECT_EQ(config->queue.lines.economy->start_minute, 22 * 60);
    EXPECT_EQ(config->queue.retry.max_tries, 5);
    EXPECT_EQ(config->queue.retry.rules.at(core::FailureClass::kBusy).delay, std::chrono::seconds{60});
    EXPECT_EQ(config->queue.retry.rules.at(core::FailureClass::kBusy).max_attempts, 2);
    // Classes the file does not name keep their defaults.
    EXPECT_EQ(config->queue.retry.rules.at(core::FailureClass::kNoAnswer).delay, std::chrono::seconds{300});
    EXPECT_EQ(config->inbound.default_user, "admin");
    ASSERT_EQ(config->inbound.ranges.size(), 1u);
    EXPECT_EQ(config->inbound.ranges[0].owner.kind, core::OwnerKind::kEntity);
    ASSERT_EQ(config->inbound.lines.size(), 1u);
    ASSERT_EQ(config->users.size(), 1u);
    EXPECT_EQ(config->users[0].numbers, (std::vector<std::string>{"200", "201"}));
    EXPECT_EQ(config->users[0].attachment_format, core::AttachmentFormat::kTiff);
    EXPECT_EQ(config->users[0].permission, core::Permission::kAdministrator);
    ASSERT_EQ(config->entities.size(), 1u);
    EXPECT_EQ(config->entities[0].number, "300");
    ASSERT_EQ(config->entities[0].members.size(), 1u);
    EXPECT_FALSE(config->entities[0].members[0].receive);
    ASSERT_EQ(config->groups.size(), 1u);
    EXPECT_EQ(config->groups[0].members, (std::vector<std::string>{"alice", "bob"}));
}

TEST(ConfigTest, ErrorsNameTheFileAndTheKey) {
    const struct {
        const char* text;
        const char* expected;
    } cases[] = {
        {"[sip\nport = 1", "bad.toml:1"},
        {"[sip]\nport = \"five\"", "sip.port must be a number"},
        {"[log]\nlevel = \"loud\"", "log.level 'loud'"},
        {"[fax]\nmax_modem = \"v34\"", "fax.max_modem"},
        {"[[routes]]\nname = \"x\"", "routes[0] has no gateways"},
        {"[[routes]]\ngateways = [ { host = \"a\", transport = \"sctp\" } ]", "transport is udp, tcp or tls"},
        {"[store]\nurl = \"mysql://x\"", "store.url is sqlite:PATH or postgresql://"},
        {"[queue]\neconomy_start = \"22:00\"", "economy_start and economy_end go together"},
        {"[queue]\neconomy_start = \"25:00\"\neconomy_end = \"06:00\"", "queue.economy_start must be a time"},
        {"[queue.retry]\nbusyy = { delay = 5 }", "queue.retry.busyy is not a failure class"},
        {"[queue]\nreserved_for_incoming = 50", "reserved_for_incoming <= channels"},
        {"[inbound]\nranges = [ { first = \"100\", last = \"1999\", user = \"a\" } ]",
         "digit strings of one length"},
        {"[inbound]\nranges = [ { first = \"100\", last = \"199\", user = \"a\", group = \"b\" } ]",
         "exactly one of user, entity, group"},
        {"[[users]]\nname = \"No Login\"", "users[0] needs a login"},
        {"[[users]]\nlogin = \"a\"\npermission = 5", "permission is 0, 2 or 10"},
        {"[[entities]]\nname = \"Sales\"\nnumber = \"3x\"", "entities[0] needs a name and a number"},
        {"[[entities]]\nname = \"S\"\nnumber = \"3\"\nmembers = [ { send = true } ]",
         "a member needs a user"},
        {"[[groups]]\nname = \"G\"\nnumbers = [\"4a\"]", "groups[0].numbers holds digit strings"},
        {"[mail]\nauth = \"password\"", "mail.auth is address, pin, pgp_signed or pgp_encrypted"},
        {"[mail]\nfax_domain = \"fax@x\"", "mail.fax_domain must be a domain"},
        {"[mail]\nrequire_dkim_or_spf = true", "needs mail.trusted_authserv_id"},
        {"[mail.relay]\ntls = \"ssl\"", "mail.relay.tls is none, starttls or implicit"},
        {"[mail.smtp]\nimplicit_tls = true", "implicit_tls needs a certificate"},
        {"[[mail.mailboxes]]\nport = 2110\nuser = \"fax\"", "set protocol (pop3, pop3s, imap, imaps)"},
        {"[[mail.mailboxes]]\nport = 995\nuser = \"fax\"\ninterval_seconds = 2", "at least 5"},
        {"[[mail.auth_rules]]\ndomain = \"x.test\"\nauth = \"maybe\"", "auth_rules[0].auth is address"},
    };
    for (const auto& c : cases) {
        auto config = ParseConfig(c.text, "bad.toml");
        ASSERT_FALSE(config) << c.text;
        EXPECT_NE(config.error().message.find(c.expected), std::string::npos) << config.error().message;
    }
}

TEST(Config, MailSection) {
    auto config = ParseConfig(R"(
[mail]
enabled = true
fax_domain = "Fax.Example.COM"
auth = "pin"
[mail.relay]
host = "smtp.example.com"
port = 587
tls = "starttls"
[[mail.auth_rules]]
domain = "Partner.Example"
auth = "pgp_signed"
[[mail.mailboxes]]
host = "imap.example.com"
port = 993
user = "fax"
password = "pw"
interval_seconds = 30
[[mail.mailboxes]]
host = "pop.example.com"
port = 1110
protocol = "pop3"
user = "fax2"
auth = "address"
[[users]]
login = "anna"
mail_pin = "4711"
pgp_key_file = "keys/anna.asc"
)",
                              "mail.toml");
    ASSERT_TRUE(config) << config.error().message;
    const MailConfig& mail = config->mail;
    EXPECT_TRUE(mail.enabled);
    EXPECT_EQ(mail.fax_domain, "fax.example.com");
    EXPECT_EQ(mail.auth, MailAuth::kPin);
    EXPECT_EQ(mail.relay_port, 587);
    EXPECT_EQ(mail.relay_tls, "starttls");
    ASSERT_EQ(mail.auth_rules.size(), 1u);
    EXPECT_EQ(mail.auth_rules[0].domain, "partner.example");
    EXPECT_EQ(mail.auth_rules[0].method, MailAuth::kPgpSigned);
    ASSERT_EQ(mail.mailboxes.size(), 2u);
    EXPECT_EQ(mail.mailboxes[0].name, "fax@imap.example.com");
    EXPECT_EQ(mail.mailboxes[0].interval, std::chrono::seconds(30));
    EXPECT_FALSE(mail.mailboxes[0].auth.has_value());
    EXPECT_EQ(mail.mailboxes[1].protocol, "pop3");
    EXPECT_EQ(mail.mailboxes[1].auth, MailAuth::kAddress);
    ASSERT_EQ(config->user_mail_secrets.size(), 1u);
    EXPECT_EQ(config->user_mail_secrets[0].login, "anna");
    EXPECT_EQ(config->user_mail_secrets[0].pin, "4711");
    EXPECT_EQ(config->user_mail_secrets[0].pgp_key_file, "keys/anna.asc");
}

}  // namespace
}  // namespace faxd::app
