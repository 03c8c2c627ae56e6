// Conformance: faxd's SIP signalling against SIPp, an independent SIP implementation (scenarios in
// scenarios/*.xml), and against hand-made requests, some of them malformed, from a plain UDP socket.
// Real programs on 127.0.0.1 with ports chosen at run time, in real time.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "faxd_node.hpp"

namespace faxd::testing {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------------------
// SIPp as a child process

bool SippInstalled() { return std::filesystem::exists(SIPP_BINARY); }

// True while some process holds `port` for UDP on 127.0.0.1.
bool UdpPortTaken(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool taken =
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno == EADDRINUSE;
    ::close(fd);
    return taken;
}

// SIPp binds its media port and media port + 2 (audio and video "echo" sockets).
std::uint16_t FreeMediaPort() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::uint16_t port = FreePort();
        if (port != 0 && port < 65530 && !UdpPortTaken(port + 2)) return port;
    }
    return 0;
}

std::string Tail(const std::string& text, std::size_t size = 3000) {
    return text.size() <= size ? text : "..." + text.substr(text.size() - size);
}

class Sipp {
public:
    // Starts sipp with one of scenarios/*.xml; `target` is empty for a UAS, else "127.0.0.1:<port>".
    Sipp(const TempDir& dir, const std::string& scenario, const std::string& target) : name_(scenario) {
        const auto base = dir / scenario;
        log_ = base.string() + ".sipp.log";
        messages_ = base.string() + ".messages.log";
        errors_ = base.string() + ".errors.log";
        port_ = FreePort();
        const std::uint16_t media_port = FreeMediaPort();
        const std::uint16_t control_port = FreePort();  // default 8888 would be shared by parallel tests
        std::vector<std::string> argv = {SIPP_BINARY};
        if (!target.empty()) argv.insert(argv.end(), {target, "-s", "100"});
        // clang-format off
        const std::vector<std::string> options = {
            "-sf", std::string(SIPP_SCENARIOS) + "/" + scenario + ".xml",
            "-i", "127.0.0.1",
            "-p", std::to_string(port_),
            "-mp", std::to_string(media_port),
            "-cp", std::to_string(control_port),
            "-m", "1",
            "-timeout", "60s", "-timeout_error",
            "-nostdin",
            "-trace_err", "-error_file", errors_.string(),
            "-trace_msg", "-message_file", messages_.string(),
        };
        // clang-format on
        argv.insert(argv.end(), options.begin(), options.end());
        process_ = ChildProcess::Spawn(argv, log_);
    }

    std::uint16_t port() const { return port_; }
    std::string Uri() const { return "sip:100@127.0.0.1:" + std::to_string(port_); }

    // A UAS must listen before the call comes.
    bool WaitUntilListening(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (UdpPortTaken(port_)) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    // sipp's exit status: 0 when its one call followed the scenario, 1 when it failed, -1 if it hangs.
    int Finish(std::chrono::seconds timeout = 90s) {
        if (!process_) return -1;
        return process_->Wait(timeout).value_or(-1);
    }

    // The SIP messages both ways and sipp's complaints, for failure messages.
    std::string Report() const {
        return "---- sipp " + name_ + ": unexpected events ----\n" + ReadFile(errors_) +
               "\n---- messages ----\n" + ReadFile(messages_) + "\n---- sipp output ----\n" +
               Tail(ReadFile(log_));
    }

private:
    std::string name_;
    std::filesystem::path log_, messages_, errors_;
    std::uint16_t port_ = 0;
    std::optional<ChildProcess> process_;
};

// faxctl dial to `uri` with a config of its own: [sip] lines and the media watchdog's timeout.
DialOutcome DialUri(const TempDir& dir, const std::string& name, const std::string& uri,
                    const std::string& sip_extra, int media_timeout) {
    const auto node_dir = dir / name;
    std::filesystem::create_directories(node_dir);
    const auto config = node_dir / "faxctl.toml";
    std::ofstream(config) << "[log]\nlevel = \"info\"\n[spool]\ndirectory = \""
                          << (node_dir / "spool").string() << "\"\n[sip]\nlisten = \"127.0.0.1\"\nport = 0\n"
                          << sip_extra
                          << "[media]\naddress = \"127.0.0.1\"\nport_min = 0\ntimeout = " << media_timeout
                          << "\n";
    auto run = RunProgram({FAXCTL_BINARY, "dial", "--config", config.string(), "--uri", uri, "--log-level",
                           "info", ShortDocument(dir, 1).string()},
                          120s, node_dir / "faxctl.log");
    DialOutcome outcome;
    outcome.status = run.status;
    outcome.raw = run.out;
    outcome.result = nlohmann::json::parse(run.out, nullptr, false);
    return outcome;
}

class SippTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!SippInstalled()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
    }
    TempDir dir_{"sipp"};
};

// ---------------------------------------------------------------------------------------------------------
// (a) SIPp calls faxd

// SIPp offers PCMU, gets a G.711 answer, then moves the call to T.38 with its own re-INVITE and checks
// faxd's T.38 answer (T.38 Annex D attributes); then BYE.
TEST_F(SippTest, CallerMovesTheCallToT38) {
    auto faxd = StartFaxd(dir_, "faxd", "[sip]\ninbound_t38 = \"never\"\n");
    Sipp sipp(dir_, "uac_t38_reinvite", "127.0.0.1:" + std::to_string(faxd.port));
    EXPECT_EQ(sipp.Finish(), 0) << sipp.Report() << "\n---- faxd ----\n" << ReadFile(faxd.log);
    EXPECT_TRUE(WaitForText(faxd.log, "peer switched the call to T.38", 5s)) << ReadFile(faxd.log);
    EXPECT_TRUE(WaitForText(faxd.log, "peer hung up", 5s)) << ReadFile(faxd.log);
    EXPECT_TRUE(WaitForText(faxd.log, "call over", 5s)) << ReadFile(faxd.log);
    EXPECT_EQ(ReadFile(faxd.log).find("asking the peer to switch to T.38"), std::string::npos)
        << "inbound_t38 = \"never\" but faxd re-INVITEd:\n"
        << ReadFile(faxd.log);
}

// faxd (inbound_t38 = "after-answer") re-INVITEs to T.38 once it has the ACK; SIPp checks the offer,
// accepts it with a T.38 answer and hangs up.
TEST_F(SippTest, FaxdMovesTheCallToT38AfterTheAnswer) {
    auto faxd = StartFaxd(dir_, "faxd", "[sip]\ninbound_t38 = \"after-answer\"\n");
    Sipp sipp(dir_, "uac_faxd_reinvites", "127.0.0.1:" + std::to_string(faxd.port));
    EXPECT_EQ(sipp.Finish(), 0) << sipp.Report() << "\n---- faxd ----\n" << ReadFile(faxd.log);
    EXPECT_TRUE(WaitForText(faxd.log, "asking the peer to switch to T.38", 5s)) << ReadFile(faxd.log);
    EXPECT_TRUE(WaitForText(faxd.log, "switched to T.38", 5s)) << ReadFile(faxd.log);
    EXPECT_TRUE(WaitForText(faxd.log, "call over", 5s)) << ReadFile(faxd.log);
}

// ---------------------------------------------------------------------------------------------------------
// (b) faxctl calls SIPp

TEST_F(SippTest, DigestChallengeWithoutCredentialsIsRejected) {
    Sipp sipp(dir_, "uas_401", "");
    ASSERT_TRUE(sipp.WaitUntilListening(10s)) << sipp.Report();
    auto dial = DialUri(dir_, "faxctl", sipp.Uri(), "", 10);
    EXPECT_EQ(sipp.Finish(), 0) << sipp.Report() << "\n---- faxctl ----\n"
                                << ReadFile(dir_ / "faxctl" / "faxctl.log");
    ASSERT_FALSE(dial.result.is_discarded()) << "faxctl printed: " << dial.raw;
    EXPECT_EQ(dial.status, 1) << dial.raw;
    EXPECT_EQ(dial.result["ok"], false) << dial.raw;
    EXPECT_EQ(dial.result["error_class"], "rejected") << dial.raw;
    EXPECT_EQ(dial.result["sip_status"], 401) << dial.raw;
}

TEST_F(SippTest, BusyHereIsBusy) {
    Sipp sipp(dir_, "uas_486", "");
    ASSERT_TRUE(sipp.WaitUntilListening(10s)) << sipp.Report();
    auto dial = DialUri(dir_, "faxctl", sipp.Uri(), "", 10);
    EXPECT_EQ(sipp.Finish(), 0) << sipp.Report() << "\n---- faxctl ----\n"
                                << ReadFile(dir_ / "faxctl" / "faxctl.log");
    ASSERT_FALSE(dial.result.is_discarded()) << "faxctl printed: " << dial.raw;
    EXPECT_EQ(dial.status, 1) << dial.raw;
    EXPECT_EQ(dial.result["ok"], false) << dial.raw;
    EXPECT_EQ(dial.result["error_class"], "busy") << dial.raw;
    EXPECT_EQ(dial.result["sip_status"], 486) << dial.raw;
}

// SIPp answers with G.711 and refuses the T.38 re-INVITE with 488: faxctl must stay on G.711 (not give up
// with t38_negotiation_failed). SIPp has no fax modem and sends no RTP, so faxctl's media watchdog hangs
// up after [media] timeout = 3 s and the fax fails for want of a fax machine.
TEST_F(SippTest, RefusedT38ReinviteFallsBackToG711) {
    Sipp sipp(dir_, "uas_488_t38", "");
    ASSERT_TRUE(sipp.WaitUntilListening(10s)) << sipp.Report();
    auto dial = DialUri(dir_, "faxctl", sipp.Uri(), "outbound_t38 = \"after-answer\"\n", 3);
    const auto faxctl_log = ReadFile(dir_ / "faxctl" / "faxctl.log");
    EXPECT_EQ(sipp.Finish(), 0) << sipp.Report() << "\n---- faxctl ----\n" << faxctl_log;
    EXPECT_NE(faxctl_log.find("peer refused T.38 (488)"), std::string::npos) << faxctl_log;
    ASSERT_FALSE(dial.result.is_discarded()) << "faxctl printed: " << dial.raw;
    EXPECT_EQ(dial.result["ok"], false) << dial.raw;
    EXPECT_NE(dial.result["error_class"], "t38_negotiation_failed") << dial.raw;
    const std::string error_class = dial.result.value("error_class", "");
    EXPECT_TRUE(error_class == "not_a_fax" || error_class == "call_dropped") << dial.raw;
    EXPECT_EQ(dial.result["transport"], "g711") << dial.raw;
    EXPECT_EQ(dial.result["sip_status"], 200) << dial.raw;
}

TEST_F(SippTest, UnansweredT38ReinviteIsCancelledAndTheCallStaysOnG711) {
    Sipp sipp(dir_, "uas_t38_silent", "");
    ASSERT_TRUE(sipp.WaitUntilListening(10s)) << sipp.Report();
    auto dial = DialUri(dir_, "faxctl", sipp.Uri(), "outbound_t38 = \"after-answer\"\nt38_timeout = 2\n", 6);
    const auto faxctl_log = ReadFile(dir_ / "faxctl" / "faxctl.log");
    EXPECT_EQ(sipp.Finish(), 0) << sipp.Report() << "\n---- faxctl ----\n" << faxctl_log;
    EXPECT_NE(faxctl_log.find("no answer to T.38 re-INVITE in 2 s; carrying on over G.711"), std::string::npos)
        << faxctl_log;
    EXPECT_EQ(dial.result["transport"], "g711") << dial.raw;
    EXPECT_NE(dial.result["error_class"], "t38_negotiation_failed") << dial.raw;
}

// ---------------------------------------------------------------------------------------------------------
// (c) hand-made requests from a UDP socket

class UdpPeer {
public:
    UdpPeer() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~UdpPeer() { ::close(fd_); }
    UdpPeer(const UdpPeer&) = delete;
    UdpPeer& operator=(const UdpPeer&) = delete;

    std::uint16_t port() const { return port_; }

    void Send(const std::string& data, std::uint16_t to) const {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(to);
        ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }

    std::optional<std::string> Receive(std::chrono::milliseconds timeout) const {
        pollfd pfd{fd_, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
        char buffer[65536];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n < 0) return std::nullopt;
        return std::string(buffer, static_cast<std::size_t>(n));
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// The value of the first header `name` (full form, as sofia-sip writes it), or "".
std::string HeaderValue(const std::string& message, const std::string& name) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        const std::size_t end = message.find("\r\n", pos);
        const std::string line =
            message.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        if (line.empty()) break;  // end of the headers
        if (line.size() > name.size() && line[name.size()] == ':' &&
            std::equal(name.begin(), name.end(), line.begin(),
                       [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
            std::size_t value = name.size() + 1;
            while (value < line.size() && line[value] == ' ') ++value;
            return line.substr(value);
        }
        if (end == std::string::npos) break;
        pos = end + 2;
    }
    return {};
}

// "SIP/2.0 488 Not Acceptable Here" -> 488; a request or anything else -> 0.
int StatusOf(const std::string& message) {
    if (message.rfind("SIP/2.0 ", 0) != 0 || message.size() < 11) return 0;
    return std::atoi(message.substr(8, 3).c_str());
}

struct RawRequest {
    std::string method;
    std::string call_id;
    std::string branch;
    std::string from;
    std::string text;
};

struct RequestOptions {
    std::string body;
    std::string content_type = "application/sdp";
    std::optional<std::size_t> content_length;  // a wrong one on purpose
    std::optional<std::string> via;             // a broken one on purpose
    std::string extra_headers;
};

class RawSip {
public:
    explicit RawSip(std::uint16_t faxd_port) : faxd_port_(faxd_port) {}

    std::uint16_t port() const { return peer_.port(); }

    RawRequest Make(const std::string& method, const RequestOptions& options = {}) {
        RawRequest r;
        r.method = method;
        r.call_id = std::to_string(rng_()) + "@conformance";
        r.branch = "z9hG4bK" + std::to_string(rng_());
        r.from = "<sip:raw@127.0.0.1:" + std::to_string(peer_.port()) + ">;tag=" + std::to_string(rng_());
        const std::string via = options.via ? *options.via
                                            : "SIP/2.0/UDP 127.0.0.1:" + std::to_string(peer_.port()) +
                                                  ";rport;branch=" + r.branch;
        r.text = method + " " + RequestUri() + " SIP/2.0\r\nVia: " + via +
                 "\r\nMax-Forwards: 70\r\nFrom: " + r.from + "\r\nTo: <" + RequestUri() +
                 ">\r\nCall-ID: " + r.call_id + "\r\nCSeq: 1 " + method +
                 "\r\nContact: <sip:raw@127.0.0.1:" + std::to_string(peer_.port()) + ">\r\n" +
                 options.extra_headers;
        if (!options.body.empty()) r.text += "Content-Type: " + options.content_type + "\r\n";
        r.text += "Content-Length: " + std::to_string(options.content_length.value_or(options.body.size())) +
                  "\r\n\r\n" + options.body;
        return r;
    }

    void Send(const std::string& data) const { peer_.Send(data, faxd_port_); }

    // Sends `request` and returns faxd's final response to it ("" when none came in `timeout`).
    // Provisional responses, retransmissions and messages of other calls are skipped.
    std::string Exchange(const RawRequest& request, std::chrono::milliseconds timeout) const {
        Send(request.text);
        return FinalResponse(request.call_id, timeout);
    }

    std::string FinalResponse(const std::string& call_id, std::chrono::milliseconds timeout) const {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) return {};
            auto message = peer_.Receive(left);
            if (!message) return {};
            if (call_id.empty() || HeaderValue(*message, "Call-ID") == call_id) {
                if (StatusOf(*message) >= 200) return *message;
            }
        }
    }

    std::optional<std::string> Receive(std::chrono::milliseconds timeout) const {
        return peer_.Receive(timeout);
    }

    // A response to a request faxd sent us, with its Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2).
    void Respond(const std::string& request, const std::string& status_line) const {
        std::string response = "SIP/2.0 " + status_line + "\r\n";
        for (const char* name : {"Via", "From", "To", "Call-ID", "CSeq"})
            response += std::string(name) + ": " + HeaderValue(request, name) + "\r\n";
        Send(response + "Content-Length: 0\r\n\r\n");
    }

    // ACK for a non-2xx final response to an INVITE: same branch, To with the response's tag (RFC 3261
    // §17.1.1.3).
    void AckFailure(const RawRequest& invite, const std::string& response) const {
        Send("ACK " + RequestUri() + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" +
             std::to_string(peer_.port()) + ";rport;branch=" + invite.branch +
             "\r\nMax-Forwards: 70\r\nFrom: " + invite.from + "\r\nTo: " + HeaderValue(response, "To") +
             "\r\nCall-ID: " + invite.call_id + "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
    }

private:
    std::string RequestUri() const { return "sip:100@127.0.0.1:" + std::to_string(faxd_port_); }

    std::uint16_t faxd_port_;
    UdpPeer peer_;
    mutable std::mt19937_64 rng_{std::random_device{}()};
};

std::string Sdp(const std::string& media) {
    return "v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + media;
}

// "" while faxd runs, else how it ended (ChildProcess reports a signal as 128 + its number).
std::string HowItEnded(FaxdNode& node) {
    if (!node.process) return "never started";
    const auto status = node.process->Wait(0ms);
    if (!status) return "";
    return *status > 128 ? "killed by signal " + std::to_string(*status - 128)
                         : "exited with status " + std::to_string(*status);
}

// What faxd answered to each probe, printed as a table at the end of the test.
class ResponseLog {
public:
    void Add(const std::string& probe, const std::string& response) {
        const std::string first_line =
            response.empty() ? "(no response)" : response.substr(0, response.find("\r\n"));
        rows_.push_back({probe, first_line});
        ::testing::Test::RecordProperty(Key(probe), first_line);
    }
    ~ResponseLog() {
        std::cout << "faxd's answers to the probes:\n";
        for (const auto& [probe, answer] : rows_) std::cout << "  " << probe << " -> " << answer << "\n";
    }

private:
    static std::string Key(std::string text) {
        for (auto& c : text)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return text;
    }
    std::vector<std::pair<std::string, std::string>> rows_;
};

// Garbage and malformed requests get dropped or a 4xx/5xx, never a crash; OPTIONS, an unknown method and
// unusable offers get the answers RFC 3261 asks for; afterwards faxd still answers OPTIONS and takes a fax.
TEST_F(SippTest, MalformedRequestsLeaveFaxdWorking) {
    auto faxd = StartFaxd(dir_, "faxd", "");
    RawSip sip(faxd.port);
    ResponseLog log;
    const std::string g711 = Sdp("m=audio 7000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");

    // 1. Binary garbage: nothing to answer (no Via to answer to).
    {
        std::mt19937 rng(7);
        std::string garbage(300, '\0');
        for (auto& c : garbage) c = static_cast<char>(rng());
        sip.Send(garbage);
        const auto response = sip.FinalResponse("", 1s);
        log.Add("300 random bytes", response);
        const int status = StatusOf(response);
        EXPECT_TRUE(status == 0 || status == 400) << response;
    }
    // 2. An INVITE whose Via cannot be parsed: no address to answer to, so drop it (or 400).
    {
        auto invite = sip.Make("INVITE", {.body = g711, .via = "SIP/2.0/UDP ;;;branch=="});
        const auto response = sip.Exchange(invite, 1s);
        log.Add("INVITE with a broken Via", response);
        const int status = StatusOf(response);
        EXPECT_TRUE(status == 0 || status == 400) << response;
        if (status >= 300) sip.AckFailure(invite, response);
    }
    // 3. Content-Length larger than the datagram's body: RFC 3261 §18.3 says discard or 400.
    {
        auto invite = sip.Make("INVITE", {.body = g711, .content_length = g711.size() + 100});
        const auto response = sip.Exchange(invite, 1s);
        log.Add("INVITE with Content-Length 100 bytes too large", response);
        const int status = StatusOf(response);
        EXPECT_TRUE(status == 0 || status == 400) << response;
        if (status >= 300) sip.AckFailure(invite, response);
    }
    // 4. OPTIONS: 200 with Allow (RFC 3261 §11.2).
    {
        const auto response = sip.Exchange(sip.Make("OPTIONS"), 5s);
        log.Add("OPTIONS", response);
        EXPECT_EQ(StatusOf(response), 200) << response;
        const auto allow = HeaderValue(response, "Allow");
        for (const char* method : {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"})
            EXPECT_NE(allow.find(method), std::string::npos) << method << " missing from Allow: " << allow;
    }
    // 5. An unknown method: 501, or 405 with Allow (RFC 3261 §8.2.1).
    {
        const auto response = sip.Exchange(sip.Make("FOO"), 5s);
        log.Add("FOO (unknown method)", response);
        const int status = StatusOf(response);
        EXPECT_TRUE(status == 405 || status == 501) << response;
        if (status == 405) {
            EXPECT_FALSE(HeaderValue(response, "Allow").empty()) << response;
        }
    }
    // 6. An INVITE whose body is not SDP at all.
    {
        auto invite = sip.Make("INVITE", {.body = "this is not SDP at all\r\n"});
        const auto response = sip.Exchange(invite, 5s);
        log.Add("INVITE with garbage SDP", response);
        EXPECT_EQ(StatusOf(response), 488) << response;
        if (StatusOf(response) >= 300) sip.AckFailure(invite, response);
    }
    // 7. Valid SDP with neither G.711 nor T.38.
    {
        auto invite =
            sip.Make("INVITE", {.body = Sdp("m=audio 7000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n")});
        const auto response = sip.Exchange(invite, 5s);
        log.Add("INVITE offering only G.729", response);
        EXPECT_EQ(StatusOf(response), 488) << response;
        if (StatusOf(response) >= 300) sip.AckFailure(invite, response);
    }
    // 8. A body that is not SDP by its type: RFC 3261 §21.4.13 suggests 415 with Accept; 488 refuses it too.
    {
        auto invite = sip.Make("INVITE", {.body = "hello\r\n", .content_type = "text/plain"});
        const auto response = sip.Exchange(invite, 5s);
        log.Add("INVITE with a text/plain body", response);
        const int status = StatusOf(response);
        EXPECT_TRUE(status == 415 || status == 488) << response;
        if (status >= 300) sip.AckFailure(invite, response);
    }
    // 9. No body at all (a delayed offer, legal per RFC 3261 §13.2.1): recorded, not judged here; see
    //    DISABLED_InviteWithoutOfferGetsAnOffer.
    {
        auto invite = sip.Make("INVITE");
        const auto response = sip.Exchange(invite, 5s);
        log.Add("INVITE without SDP (delayed offer)", response);
        const int status = StatusOf(response);
        EXPECT_NE(status, 0) << "no final answer to an INVITE without SDP";
        if (status >= 300) sip.AckFailure(invite, response);
    }

    // Still alive and well: OPTIONS, then a whole fax from faxctl.
    ASSERT_EQ(HowItEnded(faxd), "") << ReadFile(faxd.log);
    {
        const auto response = sip.Exchange(sip.Make("OPTIONS"), 5s);
        log.Add("OPTIONS after all that", response);
        EXPECT_EQ(StatusOf(response), 200) << response;
    }
    auto dial = Dial(dir_, "caller", "", {"--uri", faxd.Uri(), ShortDocument(dir_, 1).string()});
    ASSERT_FALSE(dial.result.is_discarded()) << "faxctl printed: " << dial.raw;
    EXPECT_EQ(dial.result["ok"], true) << dial.raw << "\n" << ReadFile(faxd.log);
    EXPECT_EQ(dial.result["pages"], 1) << dial.raw;
    EXPECT_EQ(HowItEnded(faxd), "") << ReadFile(faxd.log);
}

TEST_F(SippTest, RegistersWithTheRegistrarUsingDigest) {
    Sipp sipp(dir_, "uas_register", "");
    ASSERT_TRUE(sipp.WaitUntilListening(10s)) << sipp.Report();
    const std::string registrar = "127.0.0.1:" + std::to_string(sipp.port());
    auto faxd = StartFaxd(dir_, "faxd",
                          "[[registrations]]\nregistrar = \"sip:" + registrar +
                              "\"\naor = \"sip:fax@127.0.0.1\"\nusername = \"fax\"\npassword = \"regsecret\"\n");
    EXPECT_EQ(sipp.Finish(), 0) << sipp.Report();
    EXPECT_TRUE(WaitForText(faxd.log, "registered sip:fax@127.0.0.1 at sip:" + registrar, 5s)) << ReadFile(faxd.log);
}

// ---------------------------------------------------------------------------------------------------------
// Bugs these found in faxd, fixed; kept as regression tests.

// An out-of-dialog REFER is accepted (202) by sofia-sip's default, which then sends a NOTIFY; faxd destroys
// the handle from its callback (Dispatch, default branch) while nua still uses it for that NOTIFY. faxd
// then dies with SIGSEGV (or, at debug level in older builds, aborts in nua's nh_remove(): "Assertion
// `*nh->nh_prev == nh' failed") once the NOTIFY's 200 arrives; not every time, hence a dozen REFERs.
TEST_F(SippTest, OutOfDialogReferDoesNotCrashFaxd) {
    auto faxd = StartFaxd(dir_, "faxd", "");
    RawSip sip(faxd.port);
    for (int i = 0; i < 12; ++i) {
        auto refer = sip.Make("REFER", {.extra_headers = "Refer-To: <sip:200@127.0.0.1>\r\n"});
        sip.Send(refer.text);
        // Answer a NOTIFY with 200 as a real referrer would, and note faxd's answer to the REFER.
        int status = 0;
        const auto deadline = std::chrono::steady_clock::now() + 1s;
        while (std::chrono::steady_clock::now() < deadline) {
            auto message = sip.Receive(100ms);
            if (!message) continue;
            if (StatusOf(*message) >= 200 && HeaderValue(*message, "Call-ID") == refer.call_id)
                status = StatusOf(*message);
            if (message->rfind("NOTIFY ", 0) == 0) sip.Respond(*message, "200 OK");
        }
        EXPECT_TRUE(status == 403 || status == 405 || status == 501 || status == 603)
            << "REFER answered " << status;
        ASSERT_EQ(HowItEnded(faxd), "") << "after REFER " << i + 1 << "\n" << ReadFile(faxd.log);
    }
    EXPECT_EQ(StatusOf(sip.Exchange(sip.Make("OPTIONS"), 2s)), 200);
}

// A 401 to an INVITE for which faxctl has no credentials is reported at once, but the nua session stays in
// "calling" (nua waits for nua_authenticate): the call keeps counting as active and faxctl only exits after
// nua_shutdown's 30 s timeout ("500 Shutdown timeout").
TEST_F(SippTest, ChallengedCallEndsPromptly) {
    Sipp sipp(dir_, "uas_401", "");
    ASSERT_TRUE(sipp.WaitUntilListening(10s)) << sipp.Report();
    const auto start = std::chrono::steady_clock::now();
    auto dial = DialUri(dir_, "faxctl", sipp.Uri(), "", 10);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(dial.result["error_class"], "rejected") << dial.raw;
    EXPECT_LT(took, 10s) << "faxctl took " << std::chrono::duration<double>(took).count() << " s to exit";
    EXPECT_EQ(sipp.Finish(), 0) << sipp.Report();
}

// RFC 3261 §13.2.1: an INVITE may carry no offer; the UAS then offers in its 200 and gets the answer in ACK.
TEST_F(SippTest, InviteWithoutOfferGetsAnOffer) {
    auto faxd = StartFaxd(dir_, "faxd", "");
    RawSip sip(faxd.port);
    auto invite = sip.Make("INVITE");
    const auto response = sip.Exchange(invite, 5s);
    EXPECT_EQ(StatusOf(response), 200) << response;
    EXPECT_NE(response.find("m=audio"), std::string::npos) << response;
}

}  // namespace
}  // namespace faxd::testing
