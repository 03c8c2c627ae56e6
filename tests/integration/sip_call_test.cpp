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
    const std::filesystem::path tiff = records[0]["tiff"].get<std::string>();
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

TEST_F(SipCallTest, ReceiverSwitchesToT38OnHearingCng) {
    auto b = StartFaxd(dir_, "b", "[sip]\ninbound_t38 = \"on-tone\"\n");
    auto dial = Dial(dir_, "a", "[sip]\noutbound_t38 = \"never\"\n" + RouteTo(b), {"--to", "100", ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "t38");
    EXPECT_TRUE(WaitForText(b.log, "heard the far fax machine; requesting T.38", 1s)) << ReadFile(b.log);
}

TEST_F(SipCallTest, CallerSwitchesToT38OnHearingCed) {
    auto b = StartFaxd(dir_, "b", "[sip]\ninbound_t38 = \"never\"\n");
    auto dial = Dial(dir_, "a", "[sip]\noutbound_t38 = \"on-tone\"\n" + RouteTo(b), {"--to", "100", ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "t38");
    EXPECT_TRUE(WaitForText(dir_ / "a" / "faxctl.log", "heard the far fax machine; requesting T.38", 1s));
}

TEST_F(SipCallTest, FaxOverTcp) {
    auto b = StartFaxd(dir_, "b", "");
    const std::string route = "[[routes]]\nname = \"tcp\"\ngateways = [ { host = \"127.0.0.1\", port = " +
                              std::to_string(b.port) + ", transport = \"tcp\" } ]\n";
    auto dial = Dial(dir_, "a", route, {"--to", "100", ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "t38");
    EXPECT_TRUE(WaitForText(b.log, "over SIP/2.0/TCP", 1s)) << ReadFile(b.log);
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

// A CA and a certificate for 127.0.0.1 in sofia-sip's layout (agent.pem = key + certificate, cafile.pem).
// sofia-sip 1.12 matches the host against DNS names and the CN only, so the name is also a DNS entry.
std::filesystem::path MakeCertificates(const TempDir& dir, const std::string& name) {
    const auto out = dir / name;
    std::filesystem::create_directories(out);
    const auto log = dir / "openssl.log";
    const auto run = [&](std::vector<std::string> argv) {
        argv.insert(argv.begin(), "/usr/bin/openssl");
        EXPECT_EQ(RunProgram(argv, 60s, log).status, 0) << ReadFile(log);
    };
    const auto p = [&](const char* file) { return (out / file).string(); };
    run({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"), "-out", p("cafile.pem"), "-days", "2",
         "-subj", "/CN=faxd test CA " + name});
    run({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("agent.key"), "-out", p("agent.csr"), "-subj",
         "/CN=127.0.0.1"});
    std::ofstream(out / "ext.cnf") << "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1\n";
    run({"x509", "-req", "-in", p("agent.csr"), "-CA", p("cafile.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
         "-out", p("agent.crt"), "-days", "2", "-extfile", p("ext.cnf")});
    std::ofstream(out / "agent.pem") << ReadFile(out / "agent.key") << ReadFile(out / "agent.crt");
    return out;
}

std::string TlsConfig(const std::filesystem::path& certificates, std::uint16_t port) {
    return "[sip.tls]\nenabled = true\nport = " + std::to_string(port) + "\ncertificate_dir = \"" +
           certificates.string() + "\"\n";
}

TEST_F(SipCallTest, FaxOverTlsWithVerifiedCertificate) {
    const auto certificates = MakeCertificates(dir_, "pki");
    const auto tls_port = FreePort();
    auto b = StartFaxd(dir_, "b", TlsConfig(certificates, tls_port));
    auto dial = Dial(dir_, "a", TlsConfig(certificates, 0),
                     {"--uri", "sips:100@127.0.0.1:" + std::to_string(tls_port), ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "t38");
    EXPECT_TRUE(WaitForText(b.log, "over SIP/2.0/TLS", 1s)) << ReadFile(b.log);
}

TEST_F(SipCallTest, TlsServerWithUntrustedCertificateIsRefused) {
    const auto server_pki = MakeCertificates(dir_, "server-pki");
    const auto other_pki = MakeCertificates(dir_, "other-pki");  // the caller trusts a different CA
    const auto tls_port = FreePort();
    auto b = StartFaxd(dir_, "b", TlsConfig(server_pki, tls_port));
    auto dial = Dial(dir_, "a", TlsConfig(other_pki, 0),
                     {"--uri", "sips:100@127.0.0.1:" + std::to_string(tls_port), ShortDocument(dir_, 1)});
    ASSERT_FALSE(dial.result.is_discarded()) << dial.raw;
    EXPECT_EQ(dial.result["ok"], false) << dial.raw;
    EXPECT_EQ(dial.result["pages"], 0);
    EXPECT_TRUE(b.WaitForRecords(1, 1s).empty()) << "no call may reach B";
}

const char kAuthConfig[] =
    "[sip.auth]\nenabled = true\nrealm = \"fax.test\"\nusers = [ { username = \"pbx\", password = \"s3cret\" } ]\n";

TEST_F(SipCallTest, DigestAuthenticationRequiredByTheReceiver) {
    auto b = StartFaxd(dir_, "b", kAuthConfig);
    auto dial = Dial(dir_, "a", RouteTo(b, "username = \"pbx\"\npassword = \"s3cret\"\n"),
                     {"--to", "100", ShortDocument(dir_, 1)});
    ExpectDelivered(dial, b, 1, "t38");
    EXPECT_TRUE(WaitForText(dir_ / "a" / "faxctl.log", "challenge (SHA-256); authenticating as 'pbx'", 1s));
}

TEST_F(SipCallTest, WrongOrMissingCredentialsAreRejected) {
    auto b = StartFaxd(dir_, "b", kAuthConfig);
    auto wrong = Dial(dir_, "a1", RouteTo(b, "username = \"pbx\"\npassword = \"guess\"\n"),
                      {"--to", "100", ShortDocument(dir_, 1)});
    EXPECT_EQ(wrong.result["ok"], false) << wrong.raw;
    EXPECT_EQ(wrong.result["error_class"], "rejected") << wrong.raw;
    EXPECT_EQ(wrong.result["sip_status"], 401) << wrong.raw;
    auto none = Dial(dir_, "a2", RouteTo(b), {"--to", "100", ShortDocument(dir_, 1)});
    EXPECT_EQ(none.result["error_class"], "rejected") << none.raw;
    EXPECT_TRUE(WaitForText(b.log, "rejected credentials of 'pbx'", 1s)) << ReadFile(b.log);
    EXPECT_TRUE(b.WaitForRecords(1, 1s).empty());
}

TEST_F(SipCallTest, CallsOverTheLimitGet503) {
    auto b = StartFaxd(dir_, "b", "[sip]\nmax_calls = 1\n");
    const auto doc = ShortDocument(dir_, 1);
    DialOutcome first, second;
    std::thread caller([&] { first = Dial(dir_, "a1", RouteTo(b), {"--to", "100", doc}); });
    ASSERT_TRUE(WaitForText(b.log, "answered with", 20s));
    second = Dial(dir_, "a2", RouteTo(b), {"--to", "100", doc});
    caller.join();
    EXPECT_EQ(first.result["ok"], true) << first.raw;
    EXPECT_EQ(second.result["sip_status"], 503) << second.raw;
    EXPECT_EQ(second.result["error_class"], "unavailable") << second.raw;
    EXPECT_TRUE(WaitForText(b.log, "over the call limit", 1s));
}

TEST_F(SipCallTest, T38OnlyRouteFailsWhenT38IsRefused) {
    auto b = StartFaxd(dir_, "b", "[sip.t38]\nenabled = false\n");
    auto dial = Dial(dir_, "a", "[sip]\noutbound_t38 = \"never\"\n" + RouteTo(b, "allow_g711 = false\n"),
                     {"--to", "100", ShortDocument(dir_, 1)});
    EXPECT_EQ(dial.result["ok"], false) << dial.raw;
    EXPECT_EQ(dial.result["error_class"], "t38_negotiation_failed") << dial.raw;
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
    auto received = ReadTiffPages(std::filesystem::path(record["tiff"].get<std::string>()));
    ASSERT_TRUE(received);
    EXPECT_EQ(static_cast<int>(received->size()), pages);
    EXPECT_TRUE(WaitForText(b.log, "call over", 5s));
}

}  // namespace
}  // namespace faxd::testing
