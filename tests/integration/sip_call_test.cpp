// Two faxd instances fax each other over real SIP, RTP and UDPTL on 127.0.0.1, in real time.
#include <signal.h>

#include <fstream>
#include <thread>

#include "faxd_node.hpp"

namespace faxd::testing {
namespace {

using namespace std::chrono_literals;

std::string RouteTo(const FaxdNode& node, const std::string& options = "") {
    return "[[routes]]\nname = \"b\"\nprefix = \"\"\n" + options + "gateways = [ { host = \"127.0.0.1\", port = " +
           std::to_string(node.port) + " } ]\n";
}

void ExpectDelivered(const DialOutcome& dial, const FaxdNode& receiver, int pages, const std::string& transport) {
    ASSERT_FALSE(dial.result.is_discarded()) << "faxctl printed: " << dial.raw;
    EXPECT_EQ(dial.status, 0) << dial.raw;
    EXPECT_EQ(dial.result["ok"], true) << dial.raw;
    EXPECT_EQ(dial.result["pages"], pages) << dial.raw;
    EXPECT_EQ(dial.result["transport"], transport) << dial.raw;
    auto records = receiver.WaitForRecords(1, 20s);
    ASSERT_EQ(records.size(), 1u) << ReadFile(receiver.log);
    EXPECT_EQ(records[0]["ok"], true) << records[0].dump();
    EXPECT_EQ(records[0]["pages"], pages);
    EXPECT_EQ(records[0]["transport"], transport);
    EXPECT_EQ(records[0]["dnis"], "100");
    const auto tiff = receiver.spool / "received" / records[0]["tiff"].get<std::string>();
    auto received = ReadTiffPages(tiff);
    ASSERT_TRUE(received) << tiff;
    EXPECT_EQ(static_cast<int>(received->size()), pages);
}

class SipCallTest : public ::testing::Test {
protected:
    TempDir dir_{"sip_call"};
};

TEST_F(SipCallTest, T38WhenTheReceiverReinvites) {
    auto b = StartFaxd(dir_, "b", "[sip]\ninbound_t38 = \"after-answer\"\n");
    auto dial = Dial(dir_, "a", "[sip]\noutbound_t38 = \"never\"\n" + RouteTo(b), {"--to", "100", ShortDocument(dir_, 2)});
    ExpectDelivered(dial, b, 2, "t38");
    EXPECT_TRUE(WaitForText(b.log, "asking the peer to switch to T.38", 1s));
}

TEST_F(SipCallTest, T38WhenTheCallerReinvites) {
    auto b = StartFaxd(dir_, "b", "[sip]\ninbound_t38 = \"never\"\n");
    auto dial = Dial(dir_, "a", "[sip]\noutbound_t38 = \"after-answer\"\n" + RouteTo(b),
                     {"--to", "100", ShortDocument(dir_, 2)});
    ExpectDelivered(dial, b, 2, "t38");
    EXPECT_TRUE(WaitForText(b.log, "peer switched the call to T.38", 1s));
}

TEST_F(SipCallTest, G711WhenNobodyAsksForT38) {
    auto b = StartFaxd(dir_, "b", "[sip]\ninbound_t38 = \"never\"\n");
    auto dial = Dial(dir_, "a", "[sip]\noutbound_t38 = \"never\"\n" + RouteTo(b), {"--to", "100", ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "g711");
}

TEST_F(SipCallTest, FallsBackToG711WhenT38IsRefused) {
    auto b = StartFaxd(dir_, "b", "[sip.t38]\nenabled = false\n");
    auto dial = Dial(dir_, "a", "[sip]\noutbound_t38 = \"after-answer\"\n" + RouteTo(b),
                     {"--to", "100", ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "g711");
    const auto a_log = ReadFile(dir_ / "a" / "faxctl.log");
    EXPECT_NE(a_log.find("peer refused T.38 (488)"), std::string::npos) << a_log;
}

TEST_F(SipCallTest, T38OfferedInTheFirstInvite) {
    auto b = StartFaxd(dir_, "b", "[sip]\ninbound_t38 = \"never\"\n");
    auto dial = Dial(dir_, "a", "[sip]\noutbound_t38 = \"never\"\n" + RouteTo(b, "t38_in_offer = true\n"),
                     {"--to", "100", ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "t38");
}

TEST_F(SipCallTest, SecondGatewayCarriesTheFaxWhenTheFirstIsDead) {
    auto b = StartFaxd(dir_, "b", "");
    const auto dead = FreePort();  // nothing listens there
    const std::string route = "[[routes]]\nname = \"pair\"\nprefix = \"\"\ngateways = [ { host = \"127.0.0.1\", port = " +
                              std::to_string(dead) + ", transport = \"tcp\" }, { host = \"127.0.0.1\", port = " +
                              std::to_string(b.port) + " } ]\n";
    auto dial = Dial(dir_, "a", route, {"--to", "100", ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "t38");
    EXPECT_EQ(dial.result["attempts"], 2) << dial.raw;
}

TEST_F(SipCallTest, UnknownHostIsClassifiedUnavailable) {
    const auto dead = FreePort();
    auto dial = Dial(dir_, "a", "", {"--uri", "sip:100@127.0.0.1:" + std::to_string(dead) + ";transport=tcp",
                                     ShortDocument(dir_, 1)});
    ASSERT_FALSE(dial.result.is_discarded()) << dial.raw;
    EXPECT_EQ(dial.status, 1);
    EXPECT_EQ(dial.result["error_class"], "unavailable") << dial.raw;
}

TEST_F(SipCallTest, ThreeCallsAtOnce) {
    auto b = StartFaxd(dir_, "b", "");
    const auto doc = ShortDocument(dir_, 1);
    std::vector<DialOutcome> outcomes(3);
    std::vector<std::thread> callers;
    for (int i = 0; i < 3; ++i)
        callers.emplace_back([&, i] { outcomes[i] = Dial(dir_, "a" + std::to_string(i), RouteTo(b), {"--to", "100", doc}); });
    for (auto& caller : callers) caller.join();
    for (const auto& outcome : outcomes) {
        EXPECT_EQ(outcome.status, 0) << outcome.raw;
        EXPECT_EQ(outcome.result["pages"], 1) << outcome.raw;
    }
    auto records = b.WaitForRecords(3, 20s);
    ASSERT_EQ(records.size(), 3u);
    for (const auto& record : records) EXPECT_EQ(record["ok"], true) << record.dump();
}

TEST_F(SipCallTest, CallerVanishingMidFaxLeavesConfirmedPages) {
    auto b = StartFaxd(dir_, "b", "");
    const auto config = dir_ / "a.toml";
    std::ofstream(config) << BaseConfig(0, dir_ / "a-spool") << RouteTo(b);
    const auto a_log = dir_ / "a.log";
    auto a = ChildProcess::Spawn({FAXCTL_BINARY, "dial", "--config", config.string(), "--log-level", "info", "--to",
                                  "100", ShortDocument(dir_, 4).string()},
                                 a_log);
    ASSERT_TRUE(a);
    ASSERT_TRUE(WaitForText(b.log, "page 1 of", 90s)) << ReadFile(b.log);
    a->Signal(SIGKILL);  // no BYE, no more packets: the caller is gone
    a->Wait(5s);
    auto records = b.WaitForRecords(1, 120s);
    ASSERT_EQ(records.size(), 1u) << ReadFile(b.log);
    const auto& record = records[0];
    EXPECT_EQ(record["ok"], false) << record.dump();
    EXPECT_EQ(record["error_class"], "call_dropped") << record.dump();
    const int pages = record["pages"];
    EXPECT_GE(pages, 1);
    EXPECT_LT(pages, 4);
    auto received = ReadTiffPages(b.spool / "received" / record["tiff"].get<std::string>());
    ASSERT_TRUE(received);
    EXPECT_EQ(static_cast<int>(received->size()), pages);
    EXPECT_TRUE(WaitForText(b.log, "call over", 5s));
}

}  // namespace
}  // namespace faxd::testing
