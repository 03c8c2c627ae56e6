// SipEndpoint on sofia-sip's nua: one thread runs the su_root with the stack; every call's SIP state lives
// there. Other threads reach it only through Post(). Media runs on MediaEngine threads and reports back by
// posting too. With NUTAG_MEDIA_ENABLE(0) sofia-sip carries our SDP untouched (FreeSWITCH works the same way).
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <deque>
#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/nta_tag.h>

#include "base/log.hpp"
#include "sip/digest.hpp"
#include "sip/media_engine.hpp"
#include "sip/sdp_build.hpp"
#include "sip/sip_endpoint.hpp"

extern "C" {
extern su_log_t nua_log[];
extern su_log_t nta_log[];
extern su_log_t tport_log[];
}

namespace faxd::sip {
namespace {

void ForwardSofiaLog(void*, char const* format, va_list ap) {
    static const auto logger = base::GetLogger("sofia");
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::string_view text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    logger->debug("{}", text);
}

constexpr const char* kAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE";

std::string UserOf(const url_t* url) { return url && url->url_user ? url->url_user : ""; }

// The values of a list of auth headers (WWW-Authenticate, Proxy-Authenticate, Authorization), rebuilt from the
// parsed scheme and parameters: sofia-sip 1.12's sip_header_as_string() drops the last parameter of long ones.
std::vector<std::string> AuthHeaderValues(const msg_auth_t* header) {
    std::vector<std::string> values;
    for (; header && values.size() < 16; header = header->au_next) {
        std::string value = header->au_scheme ? header->au_scheme : "";
        for (int i = 0; header->au_params && header->au_params[i] && i < 64; ++i) {
            value += i == 0 ? " " : ", ";
            value += header->au_params[i];
        }
        values.push_back(std::move(value));
    }
    return values;
}

std::string Payload(const sip_t* sip) {
    if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return {};
    return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

}  // namespace

// What a nua handle belongs to: a call or a registration (the handle magic points at one of these).
struct HandleOwner {
    bool is_registration = false;
};

struct RegistrationState : HandleOwner {
    Registration config;
    nua_handle_t* nh = nullptr;
    bool auth_tried = false;
    bool registered = false;
    su_timer_t* retry = nullptr;
};

struct Call : HandleOwner {
    enum class State { kCalling, kRinging, kEstablished, kTerminating, kTerminated };
    nua_handle_t* nh = nullptr;
    bool outbound = false;
    State state = State::kCalling;
    std::shared_ptr<MediaSession> media;
    bool media_started = false;
    bool media_finished = false;
    bool reported = false;
    bool t38_active = false;
    bool t38_requested = false;    // our re-INVITE to T.38 is out
    bool t38_refused = false;
    bool auth_tried = false;
    bool audio_active = false;
    bool awaiting_answer_in_ack = false;
    su_timer_t* ring_timer = nullptr;
    su_timer_t* t38_timer = nullptr;
    std::uint64_t sdp_session_id = 0;
    std::uint64_t sdp_version = 0;
    std::string local_sdp;         // our current description, re-sent on refreshes
    AudioChoice audio;
    InboundCallInfo info;
    OutboundCall request;
    OutboundDone on_done;
    CallResult result;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::string tag;
};

struct SipEndpoint::Impl {
    SipConfig config;
    InboundRouter router;
    InboundDone on_inbound;
    base::Logger log = base::GetLogger("sip");

    su_root_t* root = nullptr;
    nua_t* nua = nullptr;
    su_wait_t wait{};
    int wake_fd = -1;
    std::thread thread;
    std::mutex queue_mutex;
    std::deque<std::function<void()>> queue;
    std::unique_ptr<MediaEngine> media_engine;
    std::map<nua_handle_t*, std::unique_ptr<Call>> calls;
    std::vector<std::unique_ptr<RegistrationState>> registrations;
    std::mt19937_64 rng{std::random_device{}()};
    std::atomic<bool> shutting_down{false};
    bool shutdown_complete = false;
    std::mutex stats_mutex;
    SipStats stats;
    std::uint64_t call_counter = 0;
    std::optional<DigestServer> digest_server;

    // ---- thread plumbing ----
    void Post(std::function<void()> work) {
        {
            std::lock_guard lock(queue_mutex);
            queue.push_back(std::move(work));
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] auto written = ::write(wake_fd, &one, sizeof one);
    }

    static int OnWake(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t* arg) {
        auto* self = reinterpret_cast<Impl*>(arg);
        std::uint64_t count = 0;
        [[maybe_unused]] auto got = ::read(self->wake_fd, &count, sizeof count);
        std::deque<std::function<void()>> work;
        {
            std::lock_guard lock(self->queue_mutex);
            work.swap(self->queue);
        }
        for (auto& item : work) item();
        return 0;
    }

    void UpdateStats() {
        int active = 0, outgoing = 0;
        for (const auto& [nh, call] : calls) {
            if (call->state == Call::State::kTerminated) continue;
            ++active;
            if (call->outbound) ++outgoing;
        }
        std::lock_guard lock(stats_mutex);
        stats.active_calls = active;
        stats.active_outgoing = outgoing;
    }

    // ---- SDP ----
    T38Params LocalT38() const {
        T38Params t38;
        t38.version = 0;
        t38.max_bit_rate = config.t38.max_bit_rate;
        t38.rate_management = T38RateManagement::kTransferredTcf;
        t38.max_buffer = 2000;
        t38.max_datagram = config.t38.max_datagram;
        t38.error_correction = config.t38.redundancy > 0 ? T38ErrorCorrection::kRedundancy : T38ErrorCorrection::kNone;
        return t38;
    }

    std::string Describe(Call& call, std::vector<MediaDescription> media) {
        auto session = MakeSession(call.media->local_address(), call.sdp_session_id, ++call.sdp_version);
        session.media = std::move(media);
        call.local_sdp = FormatSdp(session);
        return call.local_sdp;
    }

    T38Start MakeT38Start(const SessionDescription& remote, const MediaDescription& image, const T38Params& agreed) {
        T38Start start;
        start.remote = *MediaEndpoint(remote, image);
        start.version = agreed.version;
        start.max_bit_rate = agreed.max_bit_rate;
        start.far_max_datagram = EffectiveFarMaxDatagram(*image.t38, config.t38.min_far_datagram);
        switch (agreed.error_correction) {
            case T38ErrorCorrection::kFec: start.recovery = t38::ErrorRecovery::kFec; break;
            case T38ErrorCorrection::kRedundancy:
                start.recovery = t38::ErrorRecovery::kRedundancy;
                start.redundancy = std::max(config.t38.redundancy, 1);
                break;
            case T38ErrorCorrection::kNone:
                start.recovery = t38::ErrorRecovery::kNone;
                start.redundancy = 0;
                break;
        }
        return start;
    }

    // ---- media ----
    base::Result<void> CreateMedia(Call& call, FaxJob job) {
        job.tag = call.tag;
        MediaSession::Events events;
        nua_handle_t* nh = call.nh;
        events.on_fax_tone = [this, nh] { Post([this, nh] { OnFaxTone(nh); }); };
        events.on_finished = [this, nh](const MediaOutcome& outcome) {
            Post([this, nh, outcome] { OnMediaFinished(nh, outcome); });
        };
        events.on_page = [log = log, tag = call.tag](const t30::PageStats& page, int total) {
            log->info("[{}] page {} of {} done: {} bit/s, {} bytes, {:.1f} s", tag, page.page, total, page.bit_rate,
                      page.encoded_bytes, page.seconds);
        };
        auto media = MediaSession::Create(media_engine->NextContext(), config.media, std::move(job), std::move(events));
        if (!media) return tl::unexpected(media.error());
        call.media = *media;
        call.sdp_session_id = rng() >> 1;
        return {};
    }

    void StartAudio(Call& call, const AudioChoice& choice, bool listen_for_tone) {
        call.audio = choice;
        call.audio_active = true;
        call.media_started = true;
        call.media->StartAudio(AudioStart{choice.remote, choice.payload_type, choice.law, listen_for_tone});
    }

    // ---- incoming ----
    // Whether the INVITE carries valid credentials; when not, it has been answered 401 and false is returned.
    bool Authorized(nua_handle_t* nh, const sip_t* sip) {
        if (!config.inbound_auth.enabled || !digest_server) return true;
        const auto now = std::chrono::time_point_cast<base::Duration>(std::chrono::system_clock::now());
        bool stale = false;
        std::string who;
        for (const auto& value : AuthHeaderValues(sip->sip_authorization)) {
            auto authorization = ParseAuthorization(value);
            if (!authorization) {
                log->debug("unusable Authorization '{}': {}", value, authorization.error().message);
                continue;
            }
            who = authorization->username;
            const auto user = std::find_if(config.inbound_auth.users.begin(), config.inbound_auth.users.end(),
                                           [&](const auto& u) { return u.username == authorization->username; });
            if (user == config.inbound_auth.users.end()) continue;
            const auto verdict = digest_server->Verify(*authorization, "INVITE", user->password, now);
            log->debug("digest answer of '{}': {}", who, DigestVerdictName(verdict));
            if (verdict == DigestServer::Verdict::kOk) return true;
            stale = stale || verdict == DigestServer::Verdict::kStaleNonce;
        }
        auto challenges = digest_server->Challenges(now, stale);
        if (!challenges) {
            nua_respond(nh, 500, "Server Internal Error", TAG_END());
            return false;
        }
        std::string headers;
        for (const auto& challenge : *challenges) headers += "WWW-Authenticate: " + challenge + "\r\n";
        if (!who.empty()) {
            log->warn("rejected credentials of '{}' from {}", who,
                      sip->sip_via && sip->sip_via->v_host ? sip->sip_via->v_host : "?");
            std::lock_guard lock(stats_mutex);
            ++stats.auth_failures;
        }
        nua_respond(nh, 401, "Unauthorized", SIPTAG_HEADER_STR(headers.c_str()), TAG_END());
        nua_handle_destroy(nh);
        return false;
    }

    void OnIncomingInvite(nua_handle_t* nh, const sip_t* sip) {
        if (!Authorized(nh, sip)) return;
        auto call = std::make_unique<Call>();
        call->nh = nh;
        call->tag = "in-" + std::to_string(++call_counter);
        call->info.call_id = sip->sip_call_id ? sip->sip_call_id->i_id : "";
        call->info.dnis = UserOf(sip->sip_request ? sip->sip_request->rq_url : nullptr);
        if (call->info.dnis.empty() && sip->sip_to) call->info.dnis = UserOf(sip->sip_to->a_url);
        if (auto* pai = sip_p_asserted_identity(sip); pai) call->info.ani = UserOf(pai->paid_url);
        if (call->info.ani.empty() && sip->sip_from) call->info.ani = UserOf(sip->sip_from->a_url);
        if (sip->sip_via && sip->sip_via->v_host) call->info.remote_address = sip->sip_via->v_host;
        call->result.call_id = call->info.call_id;
        nua_handle_bind(nh, reinterpret_cast<nua_hmagic_t*>(static_cast<HandleOwner*>(call.get())));
        Call& c = *call;
        calls[nh] = std::move(call);
        {
            std::lock_guard lock(stats_mutex);
            ++stats.calls_in;
        }
        log->info("[{}] incoming call from '{}' to '{}' over {} (Call-ID {})", c.tag, c.info.ani, c.info.dnis,
                  sip->sip_via && sip->sip_via->v_protocol ? sip->sip_via->v_protocol : "?", c.info.call_id);

        const auto refuse = [&](int status, const char* phrase, CallFailure failure, const std::string& why) {
            log->info("[{}] refusing: {} {} ({})", c.tag, status, phrase, why);
            nua_respond(nh, status, phrase, TAG_END());
            c.result.failure = failure;
            c.result.sip_status = status;
            c.result.reason = why;
            c.state = Call::State::kTerminating;
            Report(c);
        };
        if (shutting_down) return refuse(503, "Service Unavailable", CallFailure::kUnavailable, "shutting down");
        UpdateStats();
        {
            std::lock_guard lock(stats_mutex);
            if (stats.active_calls > config.max_calls) {
                ++stats.rejected_over_limit;
                return refuse(503, "Service Unavailable", CallFailure::kUnavailable, "over the call limit");
            }
        }
        const std::string body = Payload(sip);
        const bool delayed_offer = body.empty();  // RFC 3261 §13.2.1: we offer in the 200, the answer is in ACK
        auto offer = delayed_offer ? base::Result<SessionDescription>(SessionDescription{}) : ParseSdp(body);
        if (!offer) {
            {
                std::lock_guard lock(stats_mutex);
                ++stats.bad_requests;
            }
            return refuse(488, "Not Acceptable Here", CallFailure::kInternal,
                          "unusable SDP offer: " + offer.error().message);
        }
        auto target = router(c.info);
        if (!target) {
            const bool not_found = target.error().code == base::ErrorCode::kNotFound;
            return refuse(not_found ? 404 : 480, not_found ? "Not Found" : "Temporarily Unavailable",
                          CallFailure::kRejected, target.error().message);
        }
        FaxJob job;
        job.role = t30::Role::kReceive;
        job.calling_party = false;
        job.tiff = *target;
        job.settings = config.fax;
        if (auto created = CreateMedia(c, job); !created)
            return refuse(503, "Service Unavailable", CallFailure::kUnavailable, created.error().message);
        if (delayed_offer) {
            const std::string sdp = Describe(c, {AudioMedia(c.media->audio_port())});
            nua_respond(nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()),
                        TAG_END());
            c.state = Call::State::kEstablished;
            c.result.sip_status = 200;
            c.awaiting_answer_in_ack = true;
            log->info("[{}] INVITE without offer: offered G.711, expecting the answer in ACK", c.tag);
            return;
        }

        // Answer T.38 straight away when offered; otherwise G.711, switching later.
        std::vector<MediaDescription> answer;
        std::optional<AudioChoice> audio = ChooseAudio(*offer);
        // An index rather than an optional: g++ 12 warns wrongly about optionals read in loops.
        const std::size_t kNone = static_cast<std::size_t>(-1);
        const std::size_t image = config.t38.enabled ? FindT38(*offer).value_or(kNone) : kNone;
        std::optional<T38Params> agreed;
        bool audio_taken = false;
        for (std::size_t i = 0; i < offer->media.size(); ++i) {
            const auto& m = offer->media[i];
            if (i == image && !agreed) {
                agreed = AnswerT38(*m.t38, LocalT38(), config.t38.allow_fec);
                answer.push_back(ImageMedia(c.media->image_port(), *agreed));
            } else if (image == kNone && audio && !audio_taken && m.media == "audio" && m.port != 0) {
                audio_taken = true;
                answer.push_back(AudioMedia(c.media->audio_port(), audio->payload_type));
            } else {
                answer.push_back(RejectedMedia(m));
            }
        }
        if (!agreed && !audio_taken)
            return refuse(488, "Not Acceptable Here", CallFailure::kT38NegotiationFailed,
                          "the offer has neither G.711 audio nor T.38");
        const std::string sdp = Describe(c, std::move(answer));
        nua_respond(nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()),
                    TAG_END());
        c.state = Call::State::kEstablished;
        c.result.sip_status = 200;
        if (agreed) {
            c.t38_active = true;
            c.media_started = true;
            c.media->StartT38(MakeT38Start(*offer, offer->media[image], *agreed));
        } else {
            StartAudio(c, *audio, config.inbound_t38 == T38Switch::kOnTone && config.t38.enabled);
        }
        log->info("[{}] answered with {}", c.tag, agreed ? "T.38" : "G.711");
    }

    void OnAck(Call& call, const sip_t* sip) {
        if (call.awaiting_answer_in_ack) {
            call.awaiting_answer_in_ack = false;
            auto answer = ParseSdp(Payload(sip));
            const auto audio = answer ? ChooseAudio(*answer) : std::nullopt;
            if (!audio) {
                log->warn("[{}] the ACK carries no usable answer; hanging up", call.tag);
                call.result.failure = CallFailure::kInternal;
                call.result.reason = "no usable SDP answer in the ACK";
                call.state = Call::State::kTerminating;
                nua_bye(call.nh, TAG_END());
                Report(call);
                return;
            }
            StartAudio(call, *audio, config.inbound_t38 == T38Switch::kOnTone && config.t38.enabled);
        }
        if (!call.t38_active && config.t38.enabled && config.inbound_t38 == T38Switch::kAfterAnswer && !call.outbound)
            RequestT38(call);
    }

    // ---- re-INVITE from the peer ----
    void OnReInvite(Call& call, const sip_t* sip) {
        auto offer = ParseSdp(Payload(sip));
        if (!offer) {
            nua_respond(call.nh, 488, "Not Acceptable Here", TAG_END());
            return;
        }
        const auto image = FindT38(*offer);
        const auto respond_current = [&] {
            nua_respond(call.nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(call.local_sdp.c_str()), TAG_END());
        };
        if (call.t38_active) {
            // A refresh of the T.38 session, or the peer moving back to audio once the fax is over (Asterisk
            // does): accept without touching the running T.38 media.
            if (image) return respond_current();
            if (auto audio = ChooseAudio(*offer)) {
                const std::string sdp = Describe(call, {AudioMedia(call.media->audio_port(), audio->payload_type)});
                nua_respond(call.nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                            SIPTAG_PAYLOAD_STR(sdp.c_str()), TAG_END());
                return;
            }
            nua_respond(call.nh, 488, "Not Acceptable Here", TAG_END());
            return;
        }
        if (!image || !config.t38.enabled) {
            // A session refresh (RFC 4028) or an audio change: the audio stream we have stays.
            if (ChooseAudio(*offer)) return respond_current();
            nua_respond(call.nh, 488, "Not Acceptable Here", TAG_END());
            return;
        }
        const auto& m = offer->media[*image];
        const auto agreed = AnswerT38(*m.t38, LocalT38(), config.t38.allow_fec);
        std::vector<MediaDescription> answer;
        for (std::size_t i = 0; i < offer->media.size(); ++i)
            answer.push_back(i == *image ? ImageMedia(call.media->image_port(), agreed) : RejectedMedia(offer->media[i]));
        const std::string sdp = Describe(call, std::move(answer));
        nua_respond(call.nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()),
                    TAG_END());
        CancelT38Timer(call);
        call.t38_requested = false;
        call.t38_active = true;
        call.media_started = true;
        call.media->StartT38(MakeT38Start(*offer, m, agreed));
        log->info("[{}] peer switched the call to T.38", call.tag);
    }

    // ---- our re-INVITE to T.38 ----
    void RequestT38(Call& call) {
        if (call.t38_active || call.t38_requested || call.t38_refused || call.state != Call::State::kEstablished) return;
        call.t38_requested = true;
        const std::string sdp = Describe(call, {ImageMedia(call.media->image_port(), LocalT38())});
        log->info("[{}] asking the peer to switch to T.38", call.tag);
        nua_invite(call.nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()), TAG_END());
        call.t38_timer = StartTimer(call.nh, &Impl::OnT38Timeout, config.t38_timeout);
    }

    // A one-shot timer that names its call by handle (the call may be gone when it fires).
    su_timer_t* StartTimer(nua_handle_t* nh, su_timer_f callback, std::chrono::seconds after) {
        su_timer_t* timer = su_timer_create(su_root_task(root), 0);
        su_timer_set_interval(timer, callback, reinterpret_cast<su_timer_arg_t*>(nh),
                              static_cast<su_duration_t>(after.count() * 1000));
        return timer;
    }

    static std::pair<Impl*, Call*> TimerCall(su_root_magic_t* magic, su_timer_arg_t* arg) {
        auto* self = reinterpret_cast<Impl*>(magic);
        auto it = self->calls.find(reinterpret_cast<nua_handle_t*>(arg));
        return {self, it == self->calls.end() ? nullptr : it->second.get()};
    }

    static void OnT38Timeout(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t* arg) {
        auto [self, found] = TimerCall(magic, arg);
        if (!found) return;
        Call& call = *found;
        self->CancelT38Timer(call);
        if (!call.t38_requested) return;
        self->log->warn("[{}] no answer to T.38 re-INVITE in {} s; carrying on over G.711", call.tag,
                        self->config.t38_timeout.count());
        call.t38_requested = false;
        call.t38_refused = true;
        nua_cancel(call.nh, TAG_END());
        // Our description goes back to the audio one that is in force.
        self->Describe(call, {AudioMedia(call.media->audio_port(), call.audio.payload_type)});
    }

    void CancelT38Timer(Call& call) {
        if (call.t38_timer) su_timer_destroy(call.t38_timer);
        call.t38_timer = nullptr;
    }

    void OnReInviteResponse(Call& call, int status, const sip_t* sip) {
        if (status < 200 || !call.t38_requested) return;
        CancelT38Timer(call);
        call.t38_requested = false;
        if (status >= 300) {
            call.t38_refused = true;
            log->info("[{}] peer refused T.38 ({}); carrying on over G.711", call.tag, status);
            Describe(call, {AudioMedia(call.media->audio_port(), call.audio.payload_type)});
            if (!call.request.allow_g711 && call.outbound) {
                call.result.failure = CallFailure::kT38NegotiationFailed;
                call.result.reason = "T.38 refused and G.711 not allowed on this route";
                call.media->Stop(call.result.reason);
            }
            return;
        }
        auto answer = ParseSdp(Payload(sip));
        const auto image = answer ? FindT38(*answer) : std::nullopt;
        if (!image) {
            call.t38_refused = true;
            log->warn("[{}] peer accepted our T.38 re-INVITE without a T.38 stream; staying on G.711", call.tag);
            return;
        }
        call.t38_active = true;
        // The answer's parameters are what both sides agreed on.
        call.media->StartT38(MakeT38Start(*answer, answer->media[*image], *answer->media[*image].t38));
        log->info("[{}] switched to T.38", call.tag);
    }

    void OnFaxTone(nua_handle_t* nh) {
        auto it = calls.find(Resolve(nh));
        if (it == calls.end()) return;
        Call& call = *it->second;
        const auto policy = call.outbound ? config.outbound_t38 : config.inbound_t38;
        if (policy == T38Switch::kOnTone && config.t38.enabled) {
            log->info("[{}] heard the far fax machine; requesting T.38", call.tag);
            RequestT38(call);
        }
    }

    // ---- outgoing ----
    void PlaceCall(OutboundCall request, OutboundDone done) {
        CallResult early;
        const auto fail = [&](CallFailure failure, const std::string& why) {
            early.failure = failure;
            early.reason = why;
            log->warn("cannot place call to {}: {}", request.target, why);
            if (done) done(early);
        };
        if (shutting_down) return fail(CallFailure::kCancelled, "shutting down");
        UpdateStats();
        {
            std::lock_guard lock(stats_mutex);
            if (stats.active_calls >= config.max_calls || stats.active_outgoing >= config.max_outgoing) {
                ++stats.rejected_over_limit;
                return fail(CallFailure::kUnavailable, "all outgoing channels are busy");
            }
        }
        if (request.route_max_channels > 0) {
            const auto on_route = std::count_if(calls.begin(), calls.end(), [&](const auto& entry) {
                return entry.second->outbound && entry.second->state != Call::State::kTerminated &&
                       entry.second->request.route == request.route;
            });
            if (on_route >= request.route_max_channels) {
                std::lock_guard lock(stats_mutex);
                ++stats.rejected_over_limit;
                return fail(CallFailure::kUnavailable, "all " + std::to_string(request.route_max_channels) +
                                                           " channels of route '" + request.route + "' are busy");
            }
        }
        url_t* url = url_make(nullptr, request.target.c_str());
        if (!url || (url->url_type != url_sip && url->url_type != url_sips)) {
            if (url) su_free(nullptr, url);
            return fail(CallFailure::kBadNumber, "not a sip: or sips: URI: " + request.target);
        }
        su_free(nullptr, url);
        auto call = std::make_unique<Call>();
        call->outbound = true;
        call->tag = "out-" + std::to_string(++call_counter);
        call->request = request;
        call->on_done = std::move(done);
        nua_handle_t* nh = nua_handle(nua, reinterpret_cast<nua_hmagic_t*>(static_cast<HandleOwner*>(call.get())),
                                      SIPTAG_TO_STR(request.target.c_str()), TAG_END());
        call->nh = nh;
        Call& c = *call;
        calls[nh] = std::move(call);
        {
            std::lock_guard lock(stats_mutex);
            ++stats.calls_out;
        }
        FaxJob job;
        job.role = t30::Role::kSend;
        job.calling_party = true;
        job.tiff = request.tiff;
        job.first_page = request.first_page;
        job.settings = request.fax.value_or(config.fax);
        if (auto created = CreateMedia(c, job); !created) {
            c.result.failure = CallFailure::kInternal;
            c.result.reason = created.error().message;
            c.state = Call::State::kTerminated;
            Report(c);
            Forget(nh);
            return;
        }
        std::vector<MediaDescription> offer;
        if (request.allow_g711 || !request.t38_in_offer) offer.push_back(AudioMedia(c.media->audio_port()));
        if (request.t38_in_offer && config.t38.enabled) offer.push_back(ImageMedia(c.media->image_port(), LocalT38()));
        const std::string sdp = Describe(c, std::move(offer));
        log->info("[{}] calling {}", c.tag, request.target);
        nua_invite(nh, NUTAG_URL(request.target.c_str()), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                   SIPTAG_PAYLOAD_STR(sdp.c_str()), TAG_END());
        c.ring_timer = StartTimer(nh, &Impl::OnRingTimeout, request.ring_timeout);
    }

    // Answers a 401/407 with our own digest (SHA-256 or MD5, whichever is strongest on offer: sofia-sip 1.12
    // knows only MD5). The INVITE goes again on a fresh handle with the same Call-ID (RFC 3261 §22.2).
    bool RetryWithCredentials(Call& call, int status, const sip_t* sip) {
        const auto values = AuthHeaderValues(status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate);
        const auto challenge = ChooseChallenge(values);
        if (!challenge) {
            log->warn("[{}] {} without a digest challenge we support", call.tag, status);
            return false;
        }
        auto authorization = MakeAuthorization(*challenge, "INVITE", call.request.target,
                                               call.request.credentials->username, call.request.credentials->password);
        if (!authorization) {
            log->error("[{}] cannot answer the challenge: {}", call.tag, authorization.error().ToString());
            return false;
        }
        log->info("[{}] {} challenge ({}); authenticating as '{}'", call.tag, status,
                  DigestAlgorithmName(challenge->algorithm), call.request.credentials->username);
        const std::string call_id = sip && sip->sip_call_id ? sip->sip_call_id->i_id : "";
        nua_handle_t* old_nh = call.nh;
        nua_handle_t* nh = nua_handle(nua, reinterpret_cast<nua_hmagic_t*>(static_cast<HandleOwner*>(&call)),
                                      SIPTAG_TO_STR(call.request.target.c_str()),
                                      TAG_IF(!call_id.empty(), SIPTAG_CALL_ID_STR(call_id.c_str())), TAG_END());
        // The call moves to the new handle; the old one is done.
        auto owned = std::move(calls[old_nh]);
        calls.erase(old_nh);
        nua_handle_bind(old_nh, nullptr);
        nua_handle_destroy(old_nh);
        call.nh = nh;
        calls[nh] = std::move(owned);
        nua_invite(nh, NUTAG_URL(call.request.target.c_str()),
                   TAG_IF(status == 401, SIPTAG_AUTHORIZATION_STR(authorization->c_str())),
                   TAG_IF(status == 407, SIPTAG_PROXY_AUTHORIZATION_STR(authorization->c_str())),
                   SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(call.local_sdp.c_str()), TAG_END());
        // Timers and media callbacks name the call by handle: point them at the new one.
        CancelRingTimer(call);
        call.ring_timer = StartTimer(nh, &Impl::OnRingTimeout, call.request.ring_timeout);
        handle_aliases[old_nh] = nh;
        return true;
    }

    static void OnRingTimeout(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t* arg) {
        auto [self, found] = TimerCall(magic, arg);
        if (!found) return;
        Call& call = *found;
        self->CancelRingTimer(call);
        if (call.state != Call::State::kCalling && call.state != Call::State::kRinging) return;
        self->log->info("[{}] no answer within {} s; cancelling", call.tag, call.request.ring_timeout.count());
        call.result.failure = CallFailure::kNoAnswer;
        call.result.reason = "no answer within " + std::to_string(call.request.ring_timeout.count()) + " s";
        nua_cancel(call.nh, TAG_END());
    }

    void CancelRingTimer(Call& call) {
        if (call.ring_timer) su_timer_destroy(call.ring_timer);
        call.ring_timer = nullptr;
    }

    void OnInviteResponse(Call& call, int status, const char* phrase, const sip_t* sip) {
        if (call.state == Call::State::kEstablished) return OnReInviteResponse(call, status, sip);
        if (status < 200) {
            if (status >= 180) call.state = Call::State::kRinging;
            return;
        }
        if ((status == 401 || status == 407) && call.request.credentials && !call.auth_tried) {
            call.auth_tried = true;
            if (RetryWithCredentials(call, status, sip)) return;
        }
        CancelRingTimer(call);
        call.result.sip_status = status;
        if (sip && sip->sip_call_id) call.result.call_id = sip->sip_call_id->i_id;
        if (status >= 300) {
            if (call.result.failure == CallFailure::kNone) call.result.failure = ClassifySipStatus(status);
            if (call.result.reason.empty()) call.result.reason = std::to_string(status) + " " + (phrase ? phrase : "");
            log->info("[{}] call failed: {} {} ({})", call.tag, status, phrase ? phrase : "",
                      CallFailureName(call.result.failure));
            call.state = Call::State::kTerminated;
            Report(call);
            // nua keeps a challenged INVITE open, waiting for nua_authenticate(): end it here, so the call stops
            // counting as active and shutdown does not wait for it.
            Forget(call.nh);
            return;
        }
        call.state = Call::State::kEstablished;
        auto answer = ParseSdp(Payload(sip));
        if (!answer) {
            call.result.failure = CallFailure::kInternal;
            call.result.reason = "unusable SDP answer: " + answer.error().message;
            nua_bye(call.nh, TAG_END());
            call.media->Stop(call.result.reason);
            return;
        }
        if (auto image = FindT38(*answer)) {
            call.t38_active = true;
            call.media_started = true;
            call.media->StartT38(MakeT38Start(*answer, answer->media[*image], *answer->media[*image].t38));
            log->info("[{}] answered; fax over T.38", call.tag);
        } else if (auto audio = ChooseAudio(*answer)) {
            StartAudio(call, *audio, config.outbound_t38 == T38Switch::kOnTone && config.t38.enabled);
            log->info("[{}] answered; fax over G.711 for now", call.tag);
            // A route that forbids G.711 asks for T.38 at once and gives up if it is refused.
            if ((config.outbound_t38 == T38Switch::kAfterAnswer || !call.request.allow_g711) && config.t38.enabled)
                RequestT38(call);
        } else {
            call.result.failure = CallFailure::kT38NegotiationFailed;
            call.result.reason = "the answer accepts neither G.711 nor T.38";
            nua_bye(call.nh, TAG_END());
            call.media->Stop(call.result.reason);
        }
    }

    // ---- endings ----
    void OnMediaFinished(nua_handle_t* nh, const MediaOutcome& outcome) {
        nh = Resolve(nh);
        auto it = calls.find(nh);
        if (it == calls.end()) return;
        Call& call = *it->second;
        call.media_finished = true;
        call.result.fax = outcome.fax;
        call.result.used_t38 = outcome.used_t38;
        if (call.result.failure == CallFailure::kNone) {
            call.result.failure = ClassifyFaxFailure(outcome.fax.failure);
            if (outcome.media_timeout) call.result.failure = CallFailure::kCallDropped;
            call.result.reason = outcome.reason.empty() ? outcome.fax.t30_text : outcome.reason;
        }
        if (!outcome.received_tiff.empty()) received_tiffs[nh] = outcome.received_tiff;
        if (call.state == Call::State::kEstablished) {
            log->info("[{}] fax ended ({}); hanging up", call.tag, CallFailureName(call.result.failure));
            call.state = Call::State::kTerminating;
            nua_bye(call.nh, TAG_END());
        }
        Report(call);
    }

    std::map<nua_handle_t*, std::filesystem::path> received_tiffs;
    // Media sessions report by the handle their call had when they were made; authentication moves a call to a
    // new handle.
    std::map<nua_handle_t*, nua_handle_t*> handle_aliases;

    nua_handle_t* Resolve(nua_handle_t* nh) const {
        for (int hops = 0; hops < 4; ++hops) {
            auto it = handle_aliases.find(nh);
            if (it == handle_aliases.end()) break;
            nh = it->second;
        }
        return nh;
    }

    void Report(Call& call) {
        if (call.reported) return;
        // A call whose media ran reports when the media has the fax's result.
        if (call.media && call.media_started && !call.media_finished) return;
        call.reported = true;
        CancelRingTimer(call);
        CancelT38Timer(call);
        call.result.success = call.result.failure == CallFailure::kNone && call.result.fax.success;
        if (call.result.failure == CallFailure::kNone && !call.result.success) call.result.failure = CallFailure::kFaxProtocol;
        call.result.duration_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - call.started).count();
        log->info("[{}] call over: {} ({}), {} page(s), {}", call.tag, call.result.success ? "success" : "failed",
                  CallFailureName(call.result.failure), call.result.fax.pages_confirmed,
                  call.result.used_t38 ? "T.38" : "G.711");
        if (call.outbound) {
            if (call.on_done) call.on_done(call.result);
        } else if (on_inbound) {
            InboundFax fax;
            fax.call = call.info;
            fax.result = call.result;
            if (auto it = received_tiffs.find(call.nh); it != received_tiffs.end()) fax.tiff = it->second;
            on_inbound(fax);
        }
        received_tiffs.erase(call.nh);
        if (call.media && !call.media_started) call.media.reset();  // never started: nothing runs on it
        UpdateStats();
    }

    void OnTerminated(Call& call) {
        call.state = Call::State::kTerminated;
        if (call.media && !call.media_finished && call.media_started) {
            call.media->Stop("the call ended");
            return;  // OnMediaFinished reports and Forget()s later
        }
        Report(call);
        Forget(call.nh);
    }

    void Forget(nua_handle_t* nh) {
        auto it = calls.find(nh);
        if (it == calls.end()) return;
        if (it->second->state != Call::State::kTerminated || !it->second->reported) return;
        CancelRingTimer(*it->second);
        CancelT38Timer(*it->second);
        nua_handle_bind(nh, nullptr);
        nua_handle_destroy(nh);
        calls.erase(it);
        std::erase_if(handle_aliases, [nh](const auto& alias) { return alias.second == nh; });
        UpdateStats();
    }

    // ---- the nua callback ----
    static void OnEvent(nua_event_t event, int status, char const* phrase, nua_t*, nua_magic_t* magic,
                        nua_handle_t* nh, nua_hmagic_t* hmagic, sip_t const* sip, tagi_t tags[]) {
        auto* self = reinterpret_cast<Impl*>(magic);
        auto* owner = reinterpret_cast<HandleOwner*>(hmagic);
        if (owner && owner->is_registration) {
            self->OnRegistrationEvent(event, status, phrase, *static_cast<RegistrationState*>(owner), sip);
            return;
        }
        self->Dispatch(event, status, phrase, nh, static_cast<Call*>(owner), sip, tags);
    }

    void Dispatch(nua_event_t event, int status, char const* phrase, nua_handle_t* nh, Call* call, sip_t const* sip,
                  tagi_t tags[]) {
        switch (event) {
            case nua_i_invite:
                if (!call) OnIncomingInvite(nh, sip);
                else OnReInvite(*call, sip);
                break;
            case nua_r_invite:
                if (call) OnInviteResponse(*call, status, phrase, sip);
                break;
            case nua_i_ack:
                if (call) OnAck(*call, sip);
                break;
            case nua_i_bye:
                if (call) log->info("[{}] peer hung up", call->tag);
                break;
            case nua_i_cancel:
                if (call) {
                    call->result.failure = CallFailure::kCancelled;
                    call->result.reason = "the caller cancelled";
                }
                break;
            case nua_i_state: {
                int state = nua_callstate_init;
                tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
                if (call && state == nua_callstate_terminated) {
                    OnTerminated(*call);
                    // OnTerminated may have destroyed the handle; touch nothing after it.
                    return;
                }
                if (call && state == nua_callstate_ready && !call->outbound && call->state == Call::State::kEstablished) {
                    // ACK seen (nua_i_ack is not always delivered with media disabled)
                }
                break;
            }
            case nua_r_bye:
            case nua_r_cancel:
                break;
            case nua_r_shutdown:
                if (status >= 200) {
                    shutdown_complete = true;
                    su_root_break(root);
                }
                break;
            case nua_i_terminated:
                if (call) {
                    OnTerminated(*call);
                    return;
                }
                break;
            default:
                if (status >= 300 && event != nua_r_bye)
                    log->debug("sofia event {}: {} {}", nua_event_name(event), status, phrase ? phrase : "");
                if (event == nua_i_refer) {
                    // Transfers make no sense for a fax endpoint (NUTAG_APPL_METHOD makes REFER ours to answer).
                    nua_respond(nh, 405, "Method Not Allowed", NUTAG_WITH_THIS(nua), SIPTAG_ALLOW_STR(kAllow),
                                TAG_END());
                }
                // Requests we do not take part in, outside a call: their handle is done once nua is done with it.
                // Destroying it right away crashed faxd (nua still ran a timer on a refused REFER's handle).
                if (!call && nh && nua_event_is_incoming_request(event)) Retire(nh);
                break;
        }
    }

    // ---- registrations ----
    void StartRegistrations() {
        for (const auto& entry : config.registrations) {
            auto reg = std::make_unique<RegistrationState>();
            reg->is_registration = true;
            reg->config = entry;
            reg->nh = nua_handle(nua, reinterpret_cast<nua_hmagic_t*>(static_cast<HandleOwner*>(reg.get())),
                                 SIPTAG_TO_STR(entry.aor.c_str()), SIPTAG_FROM_STR(entry.aor.c_str()), TAG_END());
            Register(*reg);
            registrations.push_back(std::move(reg));
        }
    }

    void Register(RegistrationState& reg) {
        reg.auth_tried = false;
        const std::string expires = std::to_string(reg.config.expires.count());
        log->info("registering {} at {}", reg.config.aor, reg.config.registrar);
        // nua refreshes the binding itself before it expires.
        nua_register(reg.nh, NUTAG_REGISTRAR(reg.config.registrar.c_str()), SIPTAG_EXPIRES_STR(expires.c_str()),
                     TAG_END());
    }

    static void OnRegistrationRetry(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t* arg) {
        auto* self = reinterpret_cast<Impl*>(magic);
        auto* reg = reinterpret_cast<RegistrationState*>(arg);
        if (!self->shutting_down) self->Register(*reg);
    }

    void OnRegistrationEvent(nua_event_t event, int status, const char* phrase, RegistrationState& reg,
                             const sip_t* sip) {
        if (event != nua_r_register || status < 200) return;
        if ((status == 401 || status == 407) && reg.config.credentials && !reg.auth_tried) {
            reg.auth_tried = true;
            const msg_auth_t* challenge = status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
            const char* realm = challenge ? msg_params_find(challenge->au_params, "realm=") : nullptr;
            const std::string auth = std::string("Digest:") + (realm ? realm : "\"\"") + ":" +
                                     reg.config.credentials->username + ":" + reg.config.credentials->password;
            nua_authenticate(reg.nh, NUTAG_AUTH(auth.c_str()), TAG_END());
            return;
        }
        const bool was_registered = reg.registered;
        reg.registered = status < 300;
        if (reg.registered) {
            if (!was_registered) log->info("registered {} at {}", reg.config.aor, reg.config.registrar);
            reg.auth_tried = false;
        } else {
            log->warn("registration of {} failed: {} {}; retrying in {} s", reg.config.aor, status, phrase ? phrase : "",
                      reg.config.retry_after.count());
            if (!reg.retry) reg.retry = su_timer_create(su_root_task(root), 0);
            su_timer_set_interval(reg.retry, &Impl::OnRegistrationRetry, reinterpret_cast<su_timer_arg_t*>(&reg),
                                  static_cast<su_duration_t>(reg.config.retry_after.count() * 1000));
        }
        std::lock_guard lock(stats_mutex);
        stats.registrations_active = static_cast<int>(
            std::count_if(registrations.begin(), registrations.end(), [](const auto& r) { return r->registered; }));
    }

    void StopRegistrations() {
        for (auto& reg : registrations) {
            if (reg->retry) su_timer_destroy(reg->retry);
            reg->retry = nullptr;
            if (reg->registered) nua_unregister(reg->nh, TAG_END());
        }
    }

    // ---- handles of requests outside calls ----
    // Destroyed a while after their request was answered: longer than any transaction lives (64*T1 = 32 s).
    static constexpr auto kRetiredHandleLife = std::chrono::seconds(40);
    std::deque<std::pair<nua_handle_t*, std::chrono::steady_clock::time_point>> retired_handles;
    su_timer_t* retire_timer = nullptr;

    void Retire(nua_handle_t* nh) {
        retired_handles.emplace_back(nh, std::chrono::steady_clock::now());
        if (!retire_timer) {
            retire_timer = su_timer_create(su_root_task(root), 5000);
            su_timer_set_for_ever(retire_timer, &Impl::OnRetireTimer, nullptr);
        }
    }

    static void OnRetireTimer(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t*) {
        auto* self = reinterpret_cast<Impl*>(magic);
        const auto now = std::chrono::steady_clock::now();
        while (!self->retired_handles.empty() && now - self->retired_handles.front().second > kRetiredHandleLife) {
            nua_handle_destroy(self->retired_handles.front().first);
            self->retired_handles.pop_front();
        }
    }

    void StopRetiring() {
        if (retire_timer) su_timer_destroy(retire_timer);
        retire_timer = nullptr;
    }

    void Run() { su_root_run(root); }
};

SipEndpoint::SipEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SipEndpoint::~SipEndpoint() { Shutdown(); }

base::Result<std::unique_ptr<SipEndpoint>> SipEndpoint::Start(const SipConfig& config, InboundRouter router,
                                                              InboundDone on_inbound) {
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    if (config.inbound_auth.enabled) {
        if (config.inbound_auth.users.empty())
            return base::MakeError(base::ErrorCode::kInvalidArgument, "inbound authentication needs at least one user");
        auto server = DigestServer::Create(config.inbound_auth.realm);
        if (!server) return tl::unexpected(server.error());
        impl->digest_server.emplace(std::move(*server));
    }
    impl->router = std::move(router);
    impl->on_inbound = std::move(on_inbound);
    impl->media_engine = std::make_unique<MediaEngine>(std::max(1u, std::thread::hardware_concurrency()));

    // sofia-sip state must be created and used on the thread that runs its root.
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<base::Error> failure;
    bool started = false;
    Impl* raw = impl.get();
    raw->thread = std::thread([raw, &mutex, &ready, &failure, &started] {
        su_init();
        su_log_redirect(nullptr, ForwardSofiaLog, nullptr);
        su_log_redirect(nua_log, ForwardSofiaLog, nullptr);
        su_log_redirect(nta_log, ForwardSofiaLog, nullptr);
        su_log_redirect(tport_log, ForwardSofiaLog, nullptr);
        if (base::GetLogger("sofia")->should_log(spdlog::level::debug)) {
            // sofia-sip's own levels (0-9); 5 shows transactions and transport errors without every byte.
            for (su_log_t* log : {su_log_default, nua_log, nta_log, tport_log}) su_log_set_level(log, 5);
        }
        const auto& c = raw->config;
        const auto fail = [&](const std::string& why) {
            std::lock_guard lock(mutex);
            failure = base::Error{base::ErrorCode::kIo, why, std::nullopt, std::nullopt};
            started = true;
            ready.notify_one();
        };
        raw->root = su_root_create(reinterpret_cast<su_root_magic_t*>(raw));
        if (!raw->root) return fail("cannot create the SIP event loop");
        raw->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        su_wait_create(&raw->wait, raw->wake_fd, SU_WAIT_IN);
        su_root_register(raw->root, &raw->wait, &Impl::OnWake, reinterpret_cast<su_wakeup_arg_t*>(raw), 0);
        const std::string host = c.listen_address.find(':') != std::string::npos ? "[" + c.listen_address + "]"
                                                                                 : c.listen_address;
        // No ";transport=udp,tcp": sofia-sip 1.12 crashes on a transport list when TLS is also configured;
        // the default (UDP and TCP on the sip: URL, TLS on the sips: URL) is what we want anyway.
        const std::string url = "sip:" + host + ":" + std::to_string(c.port) + (c.tcp ? "" : ";transport=udp");
        const std::string sips_url = "sips:" + host + ":" + std::to_string(c.tls.port);
        const std::string cert_dir = c.tls.certificate_dir.string();
        const std::string allow = kAllow;
        raw->nua = nua_create(
            raw->root, &Impl::OnEvent, reinterpret_cast<nua_magic_t*>(raw), NUTAG_URL(url.c_str()),
            TAG_IF(c.tls.enabled, NUTAG_SIPS_URL(sips_url.c_str())),
            TAG_IF(c.tls.enabled, TPTAG_CERTIFICATE(cert_dir.c_str())),
            // Check the certificate and name of every TLS server we call; clients calling us need none
            // (trunks rarely present one).
            TAG_IF(c.tls.enabled, TPTAG_TLS_VERIFY_POLICY(c.tls.verify_peer ? TPTLS_VERIFY_SUBJECTS_OUT
                                                                             : TPTLS_VERIFY_NONE)),
            TAG_END());
        if (!raw->nua) return fail("cannot listen for SIP on " + url + " (address in use or not ours?)");
        nua_set_params(raw->nua, NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0), NUTAG_AUTOALERT(0), NUTAG_AUTOACK(1),
                       NUTAG_ENABLEINVITE(1), NUTAG_SESSION_TIMER(0), NUTAG_ALLOW(allow.c_str()),
                       NUTAG_APPL_METHOD("REFER"), NUTAG_ENABLEMESSAGE(0), SIPTAG_ALLOW_STR(kAllow),
                       SIPTAG_USER_AGENT_STR(c.user_agent.c_str()), NTATAG_MAXSIZE(c.max_message_bytes),
                       TAG_IF(!c.local_number.empty(), NUTAG_M_USERNAME(c.local_number.c_str())), TAG_END());
        raw->StartRegistrations();
        {
            std::lock_guard lock(mutex);
            started = true;
            ready.notify_one();
        }
        raw->Run();
        nua_destroy(raw->nua);
        su_root_unregister(raw->root, &raw->wait, &Impl::OnWake, reinterpret_cast<su_wakeup_arg_t*>(raw));
        su_wait_destroy(&raw->wait);
        su_root_destroy(raw->root);
        ::close(raw->wake_fd);
        su_deinit();
    });
    {
        std::unique_lock lock(mutex);
        ready.wait(lock, [&] { return started; });
    }
    if (failure) {
        raw->thread.join();
        return tl::unexpected(*failure);
    }
    raw->log->info("SIP listening on {}:{} ({}){}", config.listen_address, config.port, config.tcp ? "UDP+TCP" : "UDP",
                   config.tls.enabled ? ", TLS on " + std::to_string(config.tls.port) : "");
    return std::unique_ptr<SipEndpoint>(new SipEndpoint(std::move(impl)));
}

void SipEndpoint::Dial(OutboundCall call, OutboundDone done) {
    impl_->Post([impl = impl_.get(), call = std::move(call), done = std::move(done)]() mutable {
        impl->PlaceCall(std::move(call), std::move(done));
    });
}

SipStats SipEndpoint::Stats() const {
    std::lock_guard lock(impl_->stats_mutex);
    return impl_->stats;
}

void SipEndpoint::Shutdown(std::chrono::milliseconds grace) {
    if (!impl_ || !impl_->thread.joinable()) return;
    auto* impl = impl_.get();
    impl->shutting_down = true;
    impl->Post([impl] {
        for (auto& [nh, call] : impl->calls) {
            if (call->state == Call::State::kEstablished) {
                call->state = Call::State::kTerminating;
                if (call->result.failure == CallFailure::kNone) call->result.failure = CallFailure::kCancelled;
                nua_bye(nh, TAG_END());
            } else if (call->outbound && call->state != Call::State::kTerminated) {
                nua_cancel(nh, TAG_END());
            }
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (Stats().active_calls > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    impl->Post([impl] {
        impl->StopRegistrations();
        impl->StopRetiring();
        nua_shutdown(impl->nua);
    });
    impl->thread.join();
    impl->media_engine.reset();
}

}  // namespace faxd::sip
