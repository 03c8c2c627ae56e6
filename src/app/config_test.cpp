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
    EXPECT_TRUE(config->routes.empty());
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
    };
    for (const auto& c : cases) {
        auto config = ParseConfig(c.text, "bad.toml");
        ASSERT_FALSE(config) << c.text;
        EXPECT_NE(config.error().message.find(c.expected), std::string::npos) << config.error().message;
    }
}

}  // namespace
}  // namespace faxd::app
