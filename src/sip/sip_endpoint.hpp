// faxd's SIP fax endpoint: answers fax calls and places them, over UDP, TCP or TLS, with T.38 or G.711.
// sofia-sip does the signalling on a thread of its own; media runs on MediaEngine threads. Nothing here
// exposes a sofia-sip type.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "sip/call_types.hpp"
#include "sip/media_session.hpp"
#include "t30/fax_types.hpp"

namespace faxd::sip {

// When faxd itself asks to move an audio call to T.38 (a peer's request is accepted at any time).
enum class T38Switch {
    kAfterAnswer,  // re-INVITE as soon as the call is up
    kOnTone,       // re-INVITE on hearing the far fax: CNG when answering, CED or V.21 when calling
    kNever,        // wait for the peer; fax over G.711 otherwise
};

struct T38Local {
    bool enabled = true;
    int redundancy = 3;      // previous IFPs in each UDPTL datagram
    bool allow_fec = true;   // answer a peer's FEC offer with FEC
    int max_datagram = 400;  // our T38FaxMaxDatagram
    int max_bit_rate = 14400;
    std::size_t min_far_datagram = 160;  // floor for peers that advertise tiny T38FaxMaxDatagram values
};

struct TlsConfig {
    bool enabled = false;
    std::uint16_t port = 5061;
    // Directory holding agent.pem (our certificate and key) and cafile.pem (the CAs we trust), as sofia-sip
    // wants.
    std::filesystem::path certificate_dir;
    bool verify_peer = true;
};

struct DigestCredentials {
    std::string username;
    std::string password;
};

// Registration of faxd with a trunk or PBX (RFC 3261 §10), refreshed before it expires and retried after a
// failure.
struct Registration {
    std::string registrar;  // "sip:pbx.example.com:5060"
    std::string aor;        // address of record: "sip:fax@pbx.example.com"
    std::optional<DigestCredentials> credentials;
    std::chrono::seconds expires{300};
    std::chrono::seconds retry_after{30};
};

// Digest authentication that faxd demands of callers (RFC 3261 §22; SHA-256 and MD5, RFC 8760).
struct InboundAuth {
    bool enabled = false;
    std::string realm = "faxd";
    std::vector<DigestCredentials> users;  // who may call in
};

struct SipConfig {
    std::string listen_address = "127.0.0.1";
    std::uint16_t port = 5060;  // UDP and TCP
    bool tcp = true;
    TlsConfig tls;
    std::string user_agent = "faxd";
    std::string local_number;  // our user part in From and Contact
    int max_calls = 100;       // over it: 503 for incoming calls, kUnavailable for outgoing
    int max_outgoing = 80;     // the rest stay free for incoming calls
    T38Switch inbound_t38 = T38Switch::kAfterAnswer;
    T38Switch outbound_t38 = T38Switch::kOnTone;
    std::chrono::seconds t38_timeout{5};  // a T.38 re-INVITE unanswered this long: carry on over G.711
    T38Local t38;
    MediaConfig media;
    t30::FaxSettings fax;  // identity, ECM, compressions, modems, watchdog
    std::size_t max_message_bytes = 65536;
    std::vector<Registration> registrations;
    InboundAuth inbound_auth;
};

struct OutboundCall {
    std::string target;  // "sip:+15550100@gw.example.com:5060;transport=tcp" or "sips:..."
    std::filesystem::path tiff;
    int first_page = 0;
    std::optional<t30::FaxSettings> fax;  // default: the endpoint's
    bool allow_g711 = true;     // false: T.38 or nothing (the call fails if the peer never switches)
    bool t38_in_offer = false;  // offer T.38 (image) next to audio in the first INVITE
    // false: faxd never asks to switch this call to T.38 (a retry after T.38 trouble); the peer still may.
    bool request_t38 = true;
    // Runs on a media thread each time the far end confirms a page, with the pages confirmed so far in this
    // call and the page's bit rate. Must be quick and thread-safe.
    std::function<void(int pages_confirmed, int bit_rate)> on_page_confirmed;
    // A name the caller chooses (e.g. "job-42") to hang the call up with Hangup().
    std::string key;
    std::optional<DigestCredentials> credentials;
    std::chrono::seconds ring_timeout{60};
    std::string route;           // the route this call goes out on ("" = none), for its channel limit
    int route_max_channels = 0;  // 0: no limit for the route
};

// Decides where an incoming fax goes. Return the TIFF path to receive into, or an error to refuse the call
// (its code picks the SIP answer: kNotFound -> 404, kUnsupported -> 488, anything else -> 480).
using InboundRouter = std::function<base::Result<std::filesystem::path>(const InboundCallInfo&)>;
using InboundDone = std::function<void(const InboundFax&)>;
using OutboundDone = std::function<void(const CallResult&)>;
// Runs on a media thread each time an incoming fax completes a page (pages received so far in the call, the
// page's bit rate). Must be quick and thread-safe.
using InboundPage = std::function<void(const InboundCallInfo& call, int pages, int bit_rate)>;

struct SipStats {
    int active_calls = 0;
    int active_outgoing = 0;
    std::uint64_t calls_in = 0;
    std::uint64_t calls_out = 0;
    std::uint64_t rejected_over_limit = 0;
    std::uint64_t bad_requests = 0;
    std::uint64_t auth_failures = 0;
    int registrations_active = 0;  // registrations the registrar currently accepts
};

class SipEndpoint {
public:
    static base::Result<std::unique_ptr<SipEndpoint>> Start(const SipConfig& config, InboundRouter router,
                                                            InboundDone on_inbound,
                                                            InboundPage on_inbound_page = nullptr);
    ~SipEndpoint();  // hangs up every call and stops the threads
    SipEndpoint(const SipEndpoint&) = delete;
    SipEndpoint& operator=(const SipEndpoint&) = delete;

    // Places a fax call; `done` runs once, on the SIP thread, when the call is over. Thread-safe.
    void Dial(OutboundCall call, OutboundDone done);
    SipStats Stats() const;
    // Ends the outgoing call placed with this OutboundCall::key (CANCEL while ringing, BYE once up); its
    // result then says kCancelled. Thread-safe; nothing happens when no such call is up.
    void Hangup(const std::string& key);
    // Ends every call (BYE/CANCEL) and waits for them to finish, at most `grace`.
    void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

    struct Impl;

private:
    explicit SipEndpoint(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace faxd::sip
